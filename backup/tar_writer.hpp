// Writes a tar.gz (POSIX pax format, gzip) to a Sink through libarchive, so an unencrypted
// backup opens with `tar tzf`.
#pragma once

#include "backup/byte_stream.hpp"

#include <exception>
#include <memory>
#include <string>

struct archive;

namespace edgeway::backup {

class TarWriter {
  public:
    explicit TarWriter(Sink& out);
    ~TarWriter();
    TarWriter(const TarWriter&) = delete;
    TarWriter& operator=(const TarWriter&) = delete;

    // One regular file, mode 0600 (the archive holds keys and password hashes).
    void add(const std::string& name, Bytes data);
    // Ends the archive and finishes the sink.
    void finish();

  private:
    [[noreturn]] void fail(const std::string& doing);
    static long on_write(archive*, void* self, const void* data, std::size_t size);

    Sink& out_;
    archive* archive_ = nullptr;
    std::exception_ptr sink_error_;  // a Sink exception, kept while libarchive unwinds
};

}  // namespace edgeway::backup
