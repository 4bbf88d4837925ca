// Logs worth showing when an assertion fails. Each ChildProcess registers its log for its
// lifetime; the e2e test main's Catch listener prints the tails of all registered logs once per
// test case when an assertion fails (while the processes' files still exist).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

namespace edgeway::test {

class DiagnosticLog {
  public:
    DiagnosticLog(std::string name, std::filesystem::path file);
    ~DiagnosticLog();
    DiagnosticLog(const DiagnosticLog&) = delete;
    DiagnosticLog& operator=(const DiagnosticLog&) = delete;

  private:
    std::size_t id_;
};

// The tails of every registered log, or "" when none are registered.
std::string registered_log_tails(std::size_t max_lines = 30);

// Called by the listener: prints the tails once until reset_log_dump() (at each test start).
void dump_registered_logs_once();
void reset_log_dump();

}  // namespace edgeway::test
