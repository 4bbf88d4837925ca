// What `edgeway backup` and `edgeway restore` need to know of an edge or a core, read from its
// configuration: the files it names, the databases its role keeps and how to check each. The
// backup library gets these as plain lists; it knows nothing of configurations.
#pragma once

#include "backup/backup.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace edgeway::app {

// "edge" or "core".
bool is_role(const std::string& role);

// The role's configuration file and state directory when none is given:
// /etc/edgeway/<role>.json and /var/lib/edgeway/<role>.
std::filesystem::path default_config_file(const std::string& role);
std::filesystem::path default_state_directory(const std::string& role);

// The role a configuration file is for: "core" when it reads as a core's, else "edge" when it
// reads as an edge's. Throws proxy::ConfigError (the core's) when it is neither.
std::string role_of(const std::filesystem::path& config);

// The state directory and every file the configuration names, each with its field
// ("link_tls.private_key"). Throws proxy::ConfigError naming the file and field.
backup::Layout layout_of(const std::string& role, const std::filesystem::path& config);
// The same for a copy of a configuration that will be installed as `destination`: relative
// paths count from destination's directory.
backup::Layout layout_of_copy(const std::string& role, const std::filesystem::path& copy,
                              const std::filesystem::path& destination);

// The databases the role keeps: a core its rules and accounts, an edge its accounts and TURN
// credentials.
std::vector<backup::DatabaseKind> database_kinds(const std::string& role);

}  // namespace edgeway::app
