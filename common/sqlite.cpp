#include "common/sqlite.hpp"

#include "common/private_files.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include <chrono>
#include <ctime>
#include <stdexcept>
#include <system_error>

namespace edgeway::sqlite {

namespace {

constexpr int kBusyTimeoutMs = 5000;

}  // namespace

void Database::Close::operator()(sqlite3* db) const {
    sqlite3_close_v2(db);
}

Database::Database(std::filesystem::path file, Raise raise)
    : file_(std::move(file)), raise_(raise) {
    try {
        create_private_directories(file_.parent_path());
        create_private_file(file_);
    } catch (const std::system_error& e) {
        raise_(e.what());
        throw;  // not reached: raise_ throws
    }
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(
        file_.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_EXRESCODE,
        nullptr);
    db_.reset(raw);  // closes even when opening failed
    if (rc != SQLITE_OK) fail(rc, "cannot open the database");
    sqlite3_busy_timeout(raw, kBusyTimeoutMs);
    // The first statement that reads the file: a corrupt or foreign file fails here.
    {
        Statement mode(*this, "PRAGMA journal_mode = WAL", "enabling WAL");
        if (!mode.step() || mode.text(0) != "wal")
            raise_(fmt::format("{}: cannot enable WAL (journal mode stays '{}')", file_.string(),
                               mode.text(0)));
    }
    exec("PRAGMA synchronous = FULL", "setting synchronous mode");
    exec("PRAGMA foreign_keys = ON", "enabling foreign keys");
}

Database::~Database() = default;

void Database::fail(int code, std::string_view doing) const {
    sqlite3* db = db_.get();
    const int primary = code & 0xff;
    if (primary == SQLITE_NOTADB)
        raise_(fmt::format("{}: not an SQLite database (the file is corrupt or of another kind)",
                           file_.string()));
    else if (primary == SQLITE_CORRUPT)
        raise_(fmt::format("{}: the database is corrupt ({}) while {}", file_.string(),
                           db ? sqlite3_errmsg(db) : sqlite3_errstr(code), doing));
    else
        raise_(fmt::format("{}: {}: {}", file_.string(), doing,
                           db ? sqlite3_errmsg(db) : sqlite3_errstr(code)));
    throw std::logic_error("sqlite::Raise returned");
}

void Database::exec(const char* sql, std::string_view doing) {
    const int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) fail(rc, doing);
}

void Database::migrate(std::span<const Step> steps, std::string_view kind) {
    const int target = static_cast<int>(steps.size());
    auto version = [this] {
        Statement query(*this, "PRAGMA user_version", "reading the schema version");
        return query.step() ? static_cast<int>(query.integer(0)) : 0;
    };
    // Checked outside a write transaction first: the usual case (up to date) then writes
    // nothing, so opening the store never shows up as a change to other connections.
    if (version() == target) return;
    Transaction transaction(*this, Transaction::write);
    const int from = version();
    if (from == target) return;  // another process migrated it meanwhile
    if (from > target)
        raise_(fmt::format(
            "{}: schema version {} was written by a newer edgeway (this one knows up to {})",
            file_.string(), from, target));
    if (from < 0) raise_(fmt::format("{}: invalid schema version {}", file_.string(), from));
    if (from == 0) {
        Statement objects(*this, "SELECT count(*) FROM sqlite_schema", "reading the schema");
        if (objects.step() && objects.integer(0) > 0)
            raise_(fmt::format(
                "{}: an SQLite database, but not {} (it has other tables and no schema version)",
                file_.string(), kind));
    }
    for (int step = from; step < target; ++step) steps[static_cast<std::size_t>(step)](*this);
    exec(fmt::format("PRAGMA user_version = {}", target).c_str(), "setting the schema version");
    transaction.commit();
}

std::int64_t Database::data_version() {
    Statement query(*this, "PRAGMA data_version", "reading the data version");
    return query.step() ? query.integer(0) : 0;
}

std::int64_t Database::last_insert_rowid() const {
    return sqlite3_last_insert_rowid(db_.get());
}

int Database::extended_errcode() const {
    return sqlite3_extended_errcode(db_.get());
}

Statement::Statement(const Database& db, std::string_view sql, std::string_view doing)
    : db_(db), doing_(doing) {
    const int rc =
        sqlite3_prepare_v2(db.get(), sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
    if (rc != SQLITE_OK) db_.fail(rc, doing_);
}

Statement::~Statement() {
    sqlite3_finalize(stmt_);
}

Statement& Statement::bind(int index, std::int64_t value) {
    check(sqlite3_bind_int64(stmt_, index, value));
    return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
    check(sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()),
                            SQLITE_TRANSIENT));
    return *this;
}

bool Statement::step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    db_.fail(rc, doing_);
}

void Statement::run() {
    while (step()) {
    }
}

void Statement::reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
}

std::int64_t Statement::integer(int column) const {
    return sqlite3_column_int64(stmt_, column);
}

std::string Statement::text(int column) const {
    const auto* data = sqlite3_column_text(stmt_, column);
    const int size = sqlite3_column_bytes(stmt_, column);
    return data ? std::string(reinterpret_cast<const char*>(data), static_cast<std::size_t>(size))
                : std::string();
}

bool Statement::is_null(int column) const {
    return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

void Statement::check(int rc) {
    if (rc != SQLITE_OK) db_.fail(rc, doing_);
}

Transaction::Transaction(Database& db, Kind kind) : db_(db) {
    db_.exec(kind == write ? "BEGIN IMMEDIATE" : "BEGIN", "starting a transaction");
    open_ = true;
}

Transaction::~Transaction() {
    if (open_) sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
    db_.exec("COMMIT", "committing");
    open_ = false;
}

std::string now_utc() {
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

}  // namespace edgeway::sqlite
