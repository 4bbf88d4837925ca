// Database copies through SQLite's online backup API (sqlite3_backup_*): the copy is one
// read transaction on the source, so it is consistent while the service goes on writing
// (WAL: readers never block the writer), and writing into a live database is one write
// transaction, which every other connection sees as an ordinary commit (PRAGMA data_version).
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace edgeway::backup {

// A consistent snapshot of the database file, as the bytes of a database file, checked with
// PRAGMA quick_check. Throws BackupError (io, invalid_content) naming the file.
std::vector<std::uint8_t> snapshot_database(const std::filesystem::path& file);

// PRAGMA quick_check on a database file; throws BackupError (invalid_content) naming `name`.
void quick_check(const std::filesystem::path& file, const std::string& name);

// Replaces the content of `live` (created 0600, in 0700 directories, when missing) with that of
// the database file `copy`, in one write transaction. Throws BackupError (io) naming `live`.
void write_database(const std::filesystem::path& copy, const std::filesystem::path& live);

}  // namespace edgeway::backup
