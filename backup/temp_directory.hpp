// A private scratch directory (mode 0700) for a restore's decrypted items, removed with
// everything in it when the restore is done.
#pragma once

#include <filesystem>

namespace edgeway::backup {

class TempDirectory {
  public:
    TempDirectory();  // under $TMPDIR or /tmp; throws BackupError (io)
    ~TempDirectory();
    TempDirectory(const TempDirectory&) = delete;
    TempDirectory& operator=(const TempDirectory&) = delete;
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

}  // namespace edgeway::backup
