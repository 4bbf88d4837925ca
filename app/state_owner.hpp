// Commands that change a node's state (allowlist, admin, turn, init, backup) started as root run
// as the user who owns that state (the service's `edgeway` user on an installed node), so that
// every database file, journal and certificate they create stays usable by the service.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace edgeway::app {

// The state directory the command's arguments name: --state-dir DIR, else the state_directory of
// --config FILE (read with state_directory_of; nothing when it fails, as the command itself then
// reports the error), else fallback.
std::filesystem::path state_directory_of_args(
    const std::vector<std::string>& args, const std::filesystem::path& fallback,
    const std::function<std::filesystem::path(const std::filesystem::path&)>& state_directory_of);

// When this process is root and dir (or, when dir does not exist yet, its nearest existing
// parent) belongs to another user, becomes that user and group for good. Throws
// std::runtime_error when the switch fails.
void become_owner_of(const std::filesystem::path& dir);

}  // namespace edgeway::app
