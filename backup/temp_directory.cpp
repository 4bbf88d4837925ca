#include "backup/temp_directory.hpp"

#include "backup/backup.hpp"

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace edgeway::backup {

TempDirectory::TempDirectory() {
    std::error_code ec;
    const auto base = std::filesystem::temp_directory_path(ec);
    std::string pattern =
        ((ec ? std::filesystem::path("/tmp") : base) / "edgeway-restore-XXXXXX").string();
    if (!::mkdtemp(pattern.data()))  // mode 0700
        throw BackupError(
            BackupError::Reason::io,
            pattern + ": cannot create a temporary directory: " + std::strerror(errno));
    path_ = pattern;
}

TempDirectory::~TempDirectory() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

}  // namespace edgeway::backup
