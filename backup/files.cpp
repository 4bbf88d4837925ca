#include "backup/files.hpp"

#include "backup/backup.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace edgeway::backup {

std::vector<std::uint8_t> read_whole_file(const std::filesystem::path& file) {
    FileSource source(file);
    std::vector<std::uint8_t> bytes;
    std::uint8_t buffer[64 * 1024];
    while (const std::size_t n = source.read(buffer)) bytes.insert(bytes.end(), buffer, buffer + n);
    return bytes;
}

std::optional<unsigned> file_mode(const std::filesystem::path& file) {
    struct stat info {};
    if (::stat(file.c_str(), &info) != 0) return std::nullopt;
    return static_cast<unsigned>(info.st_mode) & 07777;
}

void replace_file(const std::filesystem::path& file, Bytes content, unsigned new_mode) {
    struct stat info {};
    unsigned mode = new_mode;
    std::optional<AtomicFileSink::Owner> owner;
    if (::stat(file.c_str(), &info) == 0) {
        mode = static_cast<unsigned>(info.st_mode) & 07777;
        owner = AtomicFileSink::Owner{info.st_uid, info.st_gid};
    } else {
        std::error_code ec;
        std::filesystem::create_directories(file.parent_path(), ec);
        if (ec)
            throw BackupError(
                BackupError::Reason::io,
                file.parent_path().string() + ": cannot create the directory: " + ec.message());
    }
    AtomicFileSink sink(file, mode, owner);
    sink.write(content);
    sink.finish();
}

}  // namespace edgeway::backup
