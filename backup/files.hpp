// Plain files of a node (its configuration, certificates and keys): read whole, and replaced
// atomically with their owner and mode kept.
#pragma once

#include "backup/byte_stream.hpp"

#include <filesystem>
#include <optional>
#include <vector>

namespace edgeway::backup {

// The whole file. Throws BackupError (io) naming it.
std::vector<std::uint8_t> read_whole_file(const std::filesystem::path& file);

// The permission bits of an existing file; nothing when it does not exist.
std::optional<unsigned> file_mode(const std::filesystem::path& file);

// Writes `content` as `file`: a temporary file in its directory renamed over it, so a reader
// (the running node) sees the old file or the new one, never a mix. An existing file keeps its
// owner and mode; a new one gets `new_mode` (its directories are created 0755). Throws
// BackupError (io) naming the file.
void replace_file(const std::filesystem::path& file, Bytes content, unsigned new_mode);

}  // namespace edgeway::backup
