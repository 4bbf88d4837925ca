#include "backup/tar_reader.hpp"

#include "backup/backup.hpp"

#include <archive.h>
#include <archive_entry.h>

namespace edgeway::backup {

TarReader::TarReader(Source& in) : in_(in), archive_(archive_read_new()), buffer_(64 * 1024) {
    if (!archive_) throw BackupError(BackupError::Reason::io, "libarchive: out of memory");
    // gzip-compressed tar only: anything else is not a backup of ours.
    if (archive_read_support_filter_gzip(archive_) != ARCHIVE_OK ||
        archive_read_support_format_tar(archive_) != ARCHIVE_OK ||
        archive_read_open(archive_, this, nullptr, &TarReader::on_read, nullptr) != ARCHIVE_OK)
        fail("opening the archive");
}

TarReader::~TarReader() {
    archive_read_free(archive_);
}

long TarReader::on_read(archive*, void* self, const void** buffer) {
    auto* reader = static_cast<TarReader*>(self);
    // The first failure is the one to report: libarchive may ask again after it.
    if (reader->source_error_) return -1;
    // No exception may cross libarchive's C frames: keep it and report failure.
    try {
        *buffer = reader->buffer_.data();
        return static_cast<long>(reader->in_.read(reader->buffer_));
    } catch (...) {
        reader->source_error_ = std::current_exception();
        return -1;
    }
}

void TarReader::fail(const std::string& doing) {
    if (source_error_) std::rethrow_exception(source_error_);
    const char* message = archive_error_string(archive_);
    throw BackupError(BackupError::Reason::damaged,
                      "damaged archive (" + doing + "): " + (message ? message : "unknown error"));
}

std::optional<TarReader::Entry> TarReader::next() {
    archive_entry* entry = nullptr;
    const int rc = archive_read_next_header(archive_, &entry);
    // A source that failed while libarchive read ahead counts even when it saw the end.
    if (source_error_) std::rethrow_exception(source_error_);
    if (rc == ARCHIVE_EOF) return std::nullopt;
    if (rc != ARCHIVE_OK) fail("reading an entry's header");
    Entry out;
    const char* name = archive_entry_pathname(entry);
    out.name = name ? name : "";
    out.size = archive_entry_size_is_set(entry)
                   ? static_cast<std::uint64_t>(archive_entry_size(entry))
                   : 0;
    out.regular = archive_entry_filetype(entry) == AE_IFREG;
    return out;
}

std::size_t TarReader::read(std::span<std::uint8_t> out) {
    const la_ssize_t n = archive_read_data(archive_, out.data(), out.size());
    if (n < 0 || source_error_) fail("reading an entry's data");
    return static_cast<std::size_t>(n);
}

}  // namespace edgeway::backup
