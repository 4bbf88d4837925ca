// A unique scratch directory under /tmp for one test case, removed when the test ends. Set
// EDGEWAY_KEEP_TEST_DIRS=1 to keep every directory; a directory is also kept (and its path
// printed) when it is destroyed while an exception unwinds, i.e. when a REQUIRE failed.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace edgeway::test {

class TempDir {
  public:
    explicit TempDir(std::string_view prefix = "edgeway-test");
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::filesystem::path& name) const {
        return path_ / name;
    }
    // Writes text to a file in the directory (created or replaced) and returns its path.
    std::filesystem::path write(const std::filesystem::path& name, std::string_view text) const;

  private:
    std::filesystem::path path_;
};

// Reads a whole file; "" when it cannot be read.
std::string read_file(const std::filesystem::path& file);

}  // namespace edgeway::test
