#include "backup/sqlite_copy.hpp"

#include "backup/backup.hpp"
#include "common/private_files.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include <chrono>
#include <memory>
#include <thread>

namespace edgeway::backup {

namespace {

using Reason = BackupError::Reason;
using namespace std::chrono_literals;

constexpr int kBusyTimeoutMs = 5000;
// How long a copy waits for a lock the service holds (a long write) before it gives up.
constexpr auto kLockPatience = 10s;

struct Close {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Connection = std::unique_ptr<sqlite3, Close>;

Connection open(const std::filesystem::path& file, int flags, Reason reason) {
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(file.c_str(), &raw, flags | SQLITE_OPEN_EXRESCODE, nullptr);
    Connection db(raw);
    if (rc != SQLITE_OK)
        throw BackupError(reason, fmt::format("{}: cannot open the database: {}", file.string(),
                                              raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
    sqlite3_busy_timeout(raw, kBusyTimeoutMs);
    return db;
}

// The whole copy in one step (one transaction on each side), retried while the other side's
// lock is held.
void copy(sqlite3* destination, sqlite3* source, const std::filesystem::path& named,
          Reason reason) {
    sqlite3_backup* backup = sqlite3_backup_init(destination, "main", source, "main");
    if (!backup)
        throw BackupError(reason, fmt::format("{}: cannot start the copy: {}", named.string(),
                                              sqlite3_errmsg(destination)));
    const auto deadline = std::chrono::steady_clock::now() + kLockPatience;
    int rc = SQLITE_OK;
    for (;;) {
        rc = sqlite3_backup_step(backup, -1);
        const int primary = rc & 0xff;
        if ((primary != SQLITE_BUSY && primary != SQLITE_LOCKED) ||
            std::chrono::steady_clock::now() >= deadline)
            break;
        std::this_thread::sleep_for(10ms);  // a lock held by the service: try again shortly
    }
    sqlite3_backup_finish(backup);
    if (rc == SQLITE_DONE) return;
    const int primary = rc & 0xff;
    std::string why = sqlite3_errstr(rc);
    if (primary == SQLITE_NOTADB) why = "not an SQLite database";
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
        why = "the database stayed locked for 10 s";
    if (primary == SQLITE_READONLY)
        why = "cannot write into it (read-only, or a WAL database of another page size)";
    throw BackupError(reason, fmt::format("{}: the copy failed: {}", named.string(), why));
}

void check(sqlite3* db, const std::string& name) {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &raw, nullptr);
    std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> statement(raw, &sqlite3_finalize);
    std::string result;
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(raw);
        if (rc == SQLITE_ROW) {
            const auto* text = sqlite3_column_text(raw, 0);
            result = text ? reinterpret_cast<const char*>(text) : "";
        }
    }
    if ((rc & 0xff) == SQLITE_NOTADB)
        throw BackupError(Reason::invalid_content, fmt::format("{}: not an SQLite database", name));
    if (rc != SQLITE_ROW)
        throw BackupError(Reason::invalid_content, fmt::format("{}: cannot check the database: {}",
                                                               name, sqlite3_errmsg(db)));
    if (result != "ok")
        throw BackupError(Reason::invalid_content,
                          fmt::format("{}: the database is corrupt ({})", name, result));
}

}  // namespace

void quick_check(const std::filesystem::path& file, const std::string& name) {
    Connection db = open(file, SQLITE_OPEN_READONLY, Reason::invalid_content);
    check(db.get(), name);
}

std::vector<std::uint8_t> snapshot_database(const std::filesystem::path& file) {
    // Read-only: a backup never writes the service's files.
    Connection source = open(file, SQLITE_OPEN_READONLY, Reason::io);
    Connection memory = open(":memory:", SQLITE_OPEN_READWRITE, Reason::io);
    copy(memory.get(), source.get(), file, Reason::io);
    check(memory.get(), file.string());
    sqlite3_int64 size = 0;
    unsigned char* data = sqlite3_serialize(memory.get(), "main", &size, 0);
    if (!data)
        throw BackupError(Reason::io, fmt::format("{}: cannot serialise the copy", file.string()));
    std::vector<std::uint8_t> bytes(data, data + size);
    sqlite3_free(data);
    return bytes;
}

void write_database(const std::filesystem::path& copy_file, const std::filesystem::path& live) {
    try {
        create_private_directories(live.parent_path());
        create_private_file(live);
    } catch (const std::system_error& e) {
        throw BackupError(Reason::io, e.what());
    }
    Connection destination = open(live, SQLITE_OPEN_READWRITE, Reason::io);
    Connection source = open(copy_file, SQLITE_OPEN_READONLY, Reason::io);
    copy(destination.get(), source.get(), live, Reason::io);
}

}  // namespace edgeway::backup
