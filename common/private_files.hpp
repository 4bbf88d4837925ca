// Files that hold the appliance's state and secrets (rule and account databases, keys): readable
// by the service's own user only.
#pragma once

#include <filesystem>

namespace edgeway {

// Creates the missing directories of dir, each with mode 0700. Throws std::system_error whose
// what() names the directory: "<dir>: cannot create the directory: <reason>".
void create_private_directories(const std::filesystem::path& dir);

// Creates file with mode 0600 when it does not exist yet, so that SQLite (which would use 0644
// less the umask) opens a private file; the -wal and -shm files it makes later copy this mode.
// Throws std::system_error whose what() names the file.
void create_private_file(const std::filesystem::path& file);

}  // namespace edgeway
