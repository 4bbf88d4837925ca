#include "backup/tar_writer.hpp"

#include "backup/backup.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <ctime>

namespace edgeway::backup {

TarWriter::TarWriter(Sink& out) : out_(out), archive_(archive_write_new()) {
    if (!archive_) throw BackupError(BackupError::Reason::io, "libarchive: out of memory");
    if (archive_write_set_format_pax_restricted(archive_) != ARCHIVE_OK ||
        archive_write_add_filter_gzip(archive_) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(archive_, 1) != ARCHIVE_OK ||
        archive_write_open(archive_, this, nullptr, &TarWriter::on_write, nullptr) != ARCHIVE_OK)
        fail("starting the archive");
}

TarWriter::~TarWriter() {
    archive_write_free(archive_);  // after finish() a no-op close; otherwise abandons it
}

long TarWriter::on_write(archive*, void* self, const void* data, std::size_t size) {
    auto* writer = static_cast<TarWriter*>(self);
    if (writer->sink_error_) return -1;  // the first failure is the one to report
    // No exception may cross libarchive's C frames: keep it and report failure.
    try {
        writer->out_.write({static_cast<const std::uint8_t*>(data), size});
        return static_cast<long>(size);
    } catch (...) {
        writer->sink_error_ = std::current_exception();
        return -1;
    }
}

void TarWriter::fail(const std::string& doing) {
    if (sink_error_) std::rethrow_exception(sink_error_);
    const char* message = archive_error_string(archive_);
    throw BackupError(BackupError::Reason::io, "writing the archive failed while " + doing + ": " +
                                                   (message ? message : "unknown error"));
}

void TarWriter::add(const std::string& name, Bytes data) {
    struct EntryFree {
        void operator()(archive_entry* entry) const { archive_entry_free(entry); }
    };
    std::unique_ptr<archive_entry, EntryFree> entry(archive_entry_new());
    archive_entry_set_pathname(entry.get(), name.c_str());
    archive_entry_set_filetype(entry.get(), AE_IFREG);
    archive_entry_set_perm(entry.get(), 0600);
    archive_entry_set_size(entry.get(), static_cast<la_int64_t>(data.size()));
    archive_entry_set_mtime(entry.get(), std::time(nullptr), 0);
    if (archive_write_header(archive_, entry.get()) != ARCHIVE_OK) fail("adding " + name);
    std::size_t written = 0;
    while (written < data.size()) {
        const la_ssize_t n =
            archive_write_data(archive_, data.data() + written, data.size() - written);
        if (n <= 0) fail("writing " + name);
        written += static_cast<std::size_t>(n);
    }
}

void TarWriter::finish() {
    if (archive_write_close(archive_) != ARCHIVE_OK) fail("closing the archive");
    out_.finish();
}

}  // namespace edgeway::backup
