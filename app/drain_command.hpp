// `edgeway drain --config FILE [--deadline SECONDS]`: drains the edge or core that runs with
// FILE (found through the pid file in its state directory) and follows it until it exits,
// printing what is still in flight.
#pragma once

#include "proxy/proxy.hpp"

#include <filesystem>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace edgeway::app {

// What a configuration file says about the node running with it. Throws proxy::ConfigError.
struct DrainTarget {
    std::string role;  // "edge" or "core"
    std::filesystem::path state_directory;
    proxy::Millis deadline;  // drain.deadline_ms
};
using DrainTargetOf = std::function<DrainTarget(const std::filesystem::path& config_file)>;

// args are the words after `edgeway drain`. Progress goes to out, errors (one line each,
// starting "edgeway drain: ") to err. Returns the exit code: 0 the node drained and exited,
// 1 no node runs with the file or it did not exit in time, 2 a usage or configuration error.
int run_drain_command(const std::vector<std::string>& args, const DrainTargetOf& target_of,
                      std::ostream& out, std::ostream& err);

}  // namespace edgeway::app
