// Reads a tar.gz from a Source through libarchive, one entry at a time, streaming each entry's
// data (nothing is extracted to disk by libarchive itself).
#pragma once

#include "backup/byte_stream.hpp"

#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <vector>

struct archive;

namespace edgeway::backup {

class TarReader {
  public:
    explicit TarReader(Source& in);
    ~TarReader();
    TarReader(const TarReader&) = delete;
    TarReader& operator=(const TarReader&) = delete;

    struct Entry {
        std::string name;
        std::uint64_t size = 0;
        bool regular = true;
    };
    // The next entry, or nothing at the end of the archive. Throws BackupError (damaged, with
    // libarchive's words) or what the source threw.
    std::optional<Entry> next();
    // The current entry's data: up to out.size() bytes, 0 at its end.
    std::size_t read(std::span<std::uint8_t> out);

  private:
    [[noreturn]] void fail(const std::string& doing);
    static long on_read(archive*, void* self, const void** buffer);

    Source& in_;
    archive* archive_ = nullptr;
    std::vector<std::uint8_t> buffer_;
    std::exception_ptr source_error_;
};

}  // namespace edgeway::backup
