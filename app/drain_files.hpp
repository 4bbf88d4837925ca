// The files through which `edgeway drain` finds a running edge or core and follows its drain,
// kept in the node's state directory (0700, the service user's):
//   edgeway.pid         the node's process id, from when it serves until it exits
//   drain-request.json  {"deadline_ms": N}, written by `edgeway drain --deadline` right before
//                       its SIGTERM; the node reads (and removes) it when the signal comes
//   drain-status.json   the drain's progress, rewritten by the node four times a second
#pragma once

#include "common/log.hpp"
#include "proxy/proxy.hpp"

#include <sys/types.h>

#include <filesystem>
#include <optional>

namespace edgeway::app {

// The running node's pid file: written when made (a failure is logged: the node runs on, but
// `edgeway drain` cannot find it), removed when destroyed. Stale drain files go at start.
class PidFile {
  public:
    PidFile(std::filesystem::path state_directory, Logger& log);
    ~PidFile();
    PidFile(const PidFile&) = delete;
    PidFile& operator=(const PidFile&) = delete;

  private:
    std::filesystem::path file_;
    bool written_ = false;
};

// The pid in the state directory's pid file when that process is an edgeway node still
// running; nothing when there is no such file or it is stale.
std::optional<pid_t> running_node(const std::filesystem::path& state_directory);
// True while the process exists and is not a zombie.
bool process_alive(pid_t pid);

// Throws std::runtime_error naming the file when it cannot be written.
void write_drain_request(const std::filesystem::path& state_directory, proxy::Millis deadline);
// The deadline `edgeway drain` asked for, read and removed; nothing when none was asked for.
std::optional<proxy::Millis> take_drain_request(const std::filesystem::path& state_directory);

// Written whole (a temporary file renamed over it): a reader never sees half of one. Failures
// are ignored: the drain itself matters more than its report.
void write_drain_status(const std::filesystem::path& state_directory,
                        const proxy::DrainProgress& progress);
// The progress node pid last wrote; nothing before it wrote any.
std::optional<proxy::DrainProgress> read_drain_status(const std::filesystem::path& state_directory,
                                                      pid_t pid);

}  // namespace edgeway::app
