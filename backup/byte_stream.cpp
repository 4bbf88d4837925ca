#include "backup/byte_stream.hpp"

#include "backup/backup.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <istream>
#include <ostream>

namespace edgeway::backup {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail_io(const fs::path& file, const char* doing) {
    throw BackupError(BackupError::Reason::io,
                      file.string() + ": " + doing + ": " + std::strerror(errno));
}

}  // namespace

AtomicFileSink::AtomicFileSink(fs::path file, unsigned mode, std::optional<Owner> owner)
    : file_(std::move(file)) {
    // mkstemp's name in the same directory, so the rename cannot cross file systems.
    std::string pattern =
        (file_.parent_path() / ("." + file_.filename().string() + ".XXXXXX")).string();
    fd_ = ::mkostemp(pattern.data(), O_CLOEXEC);
    if (fd_ < 0) fail_io(file_, "cannot create the file");
    temporary_ = pattern;
    if (owner && ::fchown(fd_, owner->uid, owner->gid) != 0) abandon("cannot keep the owner");
    // After fchown, which may clear set-id bits.
    if (::fchmod(fd_, mode) != 0) abandon("cannot set the mode");
}

AtomicFileSink::~AtomicFileSink() {
    if (fd_ >= 0) {
        ::close(fd_);
        ::unlink(temporary_.c_str());
    }
}

void AtomicFileSink::abandon(const char* doing) {
    const int saved = errno;
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    ::unlink(temporary_.c_str());
    errno = saved;
    fail_io(file_, doing);
}

void AtomicFileSink::write(Bytes data) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd_, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) abandon("cannot write");
        data = data.subspan(static_cast<std::size_t>(n));
        bytes_ += static_cast<std::uint64_t>(n);
    }
}

void AtomicFileSink::finish() {
    if (::fsync(fd_) != 0) abandon("cannot write (fsync)");
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) abandon("cannot write (close)");
    if (::rename(temporary_.c_str(), file_.c_str()) != 0)
        abandon("cannot rename the temporary file into place");
    // The rename itself survives a power loss only once the directory is on disk.
    const fs::path dir = file_.parent_path().empty() ? fs::path(".") : file_.parent_path();
    const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd >= 0) {
        ::fsync(dir_fd);
        ::close(dir_fd);
    }
}

void StreamSink::write(Bytes data) {
    out_.write(reinterpret_cast<const char*>(data.data()),
               static_cast<std::streamsize>(data.size()));
    if (!out_) throw BackupError(BackupError::Reason::io, "cannot write to standard output");
    bytes_ += data.size();
}

void StreamSink::finish() {
    out_.flush();
    if (!out_) throw BackupError(BackupError::Reason::io, "cannot write to standard output");
}

FileSource::FileSource(const fs::path& file) : file_(file) {
    fd_ = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) fail_io(file_, "cannot open");
    struct stat info {};
    if (::fstat(fd_, &info) == 0 && S_ISDIR(info.st_mode)) {
        ::close(fd_);
        fd_ = -1;
        throw BackupError(BackupError::Reason::io, file.string() + ": is a directory");
    }
}

FileSource::~FileSource() {
    if (fd_ >= 0) ::close(fd_);
}

std::size_t FileSource::read(std::span<std::uint8_t> out) {
    for (;;) {
        const ssize_t n = ::read(fd_, out.data(), out.size());
        if (n >= 0) return static_cast<std::size_t>(n);
        if (errno != EINTR) fail_io(file_, "cannot read");
    }
}

std::size_t StreamSource::read(std::span<std::uint8_t> out) {
    in_.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(out.size()));
    if (in_.bad()) throw BackupError(BackupError::Reason::io, name_ + ": cannot read");
    return static_cast<std::size_t>(in_.gcount());
}

std::size_t PrefixedSource::read(std::span<std::uint8_t> out) {
    if (used_ < prefix_.size()) {
        const std::size_t n = std::min(out.size(), prefix_.size() - used_);
        std::memcpy(out.data(), prefix_.data() + used_, n);
        used_ += n;
        return n;
    }
    return rest_.read(out);
}

std::size_t read_fully(Source& source, std::span<std::uint8_t> out) {
    std::size_t total = 0;
    while (total < out.size()) {
        const std::size_t n = source.read(out.subspan(total));
        if (n == 0) break;
        total += n;
    }
    return total;
}

}  // namespace edgeway::backup
