// A child process (the edgeway binary, curl, a shell) with stdout and stderr appended to a log
// file. The child gets SIGKILL if the test process dies (PR_SET_PDEATHSIG) and inherits no file
// descriptors but 0-2. The destructor kills and reaps it.
#pragma once

#include "tests/support/diagnostics.hpp"
#include "tests/support/log_watcher.hpp"
#include "tests/support/wait.hpp"

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace edgeway::test {

// The edgeway binary under test: $EDGEWAY_BINARY if set, else the build's (compile definition).
std::filesystem::path edgeway_binary();

class ChildProcess {
  public:
    // Starts program with args (argv[0] is the program path). cwd: working directory ("" keeps
    // the test's). name labels the log in failure output.
    ChildProcess(std::string name, std::filesystem::path program, std::vector<std::string> args,
                 std::filesystem::path log_file, std::filesystem::path cwd = {});
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    pid_t pid() const { return pid_; }
    const std::string& name() const { return name_; }
    bool running();
    // The exit code (128 + signal number when killed by a signal) if it exits within timeout.
    std::optional<int> wait_exit(Millis timeout);
    // SIGTERM, wait up to grace, then SIGKILL; returns the exit code.
    int terminate(Millis grace = 5000ms);
    // SIGKILL and reap.
    void kill();
    void signal(int signo);

    LogWatcher& log() { return watcher_; }
    // Waits for the nth line matching pattern; throws (with the log's tail) on timeout or when
    // the process exits without having written it.
    LogMatch require_log(const std::string& pattern, Millis timeout, std::size_t nth = 1);
    const std::filesystem::path& log_path() const { return log_file_; }
    std::string log_text() const;
    std::string log_tail(std::size_t lines = 40);

  private:
    bool reap(bool block);

    std::string name_;
    std::filesystem::path log_file_;
    LogWatcher watcher_;
    DiagnosticLog diagnostic_;
    pid_t pid_ = -1;
    std::optional<int> exit_code_;
};

// Runs a program to completion (killing it after timeout) and returns its exit code and output.
struct RunResult {
    std::optional<int> exit_code;  // nullopt: timed out (and killed)
    std::string output;            // stdout and stderr, interleaved
};
RunResult run_program(const std::filesystem::path& program, const std::vector<std::string>& args,
                      const std::filesystem::path& log_file, Millis timeout = 30000ms,
                      const std::filesystem::path& cwd = {});

}  // namespace edgeway::test
