// The schema has a version (PRAGMA user_version) and a migration ladder like the rule store's:
// step i brings version i to i + 1, all in one transaction.
#include "admin/account_store.hpp"

#include "common/private_files.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <iterator>
#include <system_error>

namespace edgeway::admin {
namespace {

namespace fs = std::filesystem;

constexpr int kSchemaVersion = 2;
constexpr int kBusyTimeoutMs = 5000;

std::string now_utc() {
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

[[noreturn]] void fail(const fs::path& file, sqlite3* db, int code, std::string_view doing) {
    throw AccountError(fmt::format("{}: {}: {}", file.string(), doing,
                                   db ? sqlite3_errmsg(db) : sqlite3_errstr(code)));
}

class Statement {
  public:
    Statement(const fs::path& file, sqlite3* db, std::string_view sql, std::string_view doing)
        : file_(file), db_(db), doing_(doing) {
        const int rc =
            sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
        if (rc != SQLITE_OK) fail(file_, db_, rc, doing_);
    }
    ~Statement() { sqlite3_finalize(stmt_); }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& bind(int index, std::int64_t value) {
        const int rc = sqlite3_bind_int64(stmt_, index, value);
        if (rc != SQLITE_OK) fail(file_, db_, rc, doing_);
        return *this;
    }
    Statement& bind(int index, std::string_view value) {
        const int rc = sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()),
                                         SQLITE_TRANSIENT);
        if (rc != SQLITE_OK) fail(file_, db_, rc, doing_);
        return *this;
    }
    bool step() {
        const int rc = sqlite3_step(stmt_);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        fail(file_, db_, rc, doing_);
    }
    std::int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }
    std::string text(int column) const {
        const auto* data = sqlite3_column_text(stmt_, column);
        return data ? std::string(reinterpret_cast<const char*>(data),
                                  static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)))
                    : std::string();
    }

  private:
    const fs::path& file_;
    sqlite3* db_;
    std::string_view doing_;
    sqlite3_stmt* stmt_ = nullptr;
};

void exec(const fs::path& file, sqlite3* db, const char* sql, std::string_view doing) {
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) fail(file, db, rc, doing);
}

class Transaction {
  public:
    Transaction(const fs::path& file, sqlite3* db) : file_(file), db_(db) {
        exec(file_, db_, "BEGIN IMMEDIATE", "starting a transaction");
    }
    ~Transaction() {
        if (open_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit() {
        exec(file_, db_, "COMMIT", "committing");
        open_ = false;
    }

  private:
    const fs::path& file_;
    sqlite3* db_;
    bool open_ = true;
};

void migrate_to_1(const fs::path& file, sqlite3* db) {
    exec(file, db, R"sql(
CREATE TABLE accounts (
  name TEXT PRIMARY KEY CHECK (name <> ''),
  password_hash TEXT NOT NULL CHECK (password_hash LIKE 'scrypt$%'),
  created_at TEXT NOT NULL,
  password_changed_at TEXT NOT NULL
);
)sql",
         "creating the schema (version 1)");
}

// Version 2: the node's own settings (the admin listener's address set through the API) and
// the audit log of changes that are not the rule database's (accounts, certificates, the admin
// listener; on an edge, which has no rule database, everything).
void migrate_to_2(const fs::path& file, sqlite3* db) {
    exec(file, db, R"sql(
CREATE TABLE settings (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  changed_at TEXT NOT NULL
);
CREATE TABLE audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  who TEXT NOT NULL,
  client TEXT NOT NULL,
  action TEXT NOT NULL,
  detail TEXT NOT NULL
);
)sql",
         "adding settings and the audit log (version 2)");
}

using MigrationStep = void (*)(const fs::path&, sqlite3*);
constexpr MigrationStep kMigrations[] = {&migrate_to_1, &migrate_to_2};
static_assert(std::size(kMigrations) == kSchemaVersion);

int user_version(const fs::path& file, sqlite3* db) {
    Statement query(file, db, "PRAGMA user_version", "reading the schema version");
    return query.step() ? static_cast<int>(query.integer(0)) : 0;
}

void migrate(const fs::path& file, sqlite3* db) {
    if (user_version(file, db) == kSchemaVersion) return;
    Transaction transaction(file, db);
    const int from = user_version(file, db);
    if (from == kSchemaVersion) return;
    if (from > kSchemaVersion || from < 0)
        throw AccountError(
            fmt::format("{}: schema version {} is not one this edgeway knows (up to {})",
                        file.string(), from, kSchemaVersion));
    for (int version = from; version < kSchemaVersion; ++version) kMigrations[version](file, db);
    exec(file, db, fmt::format("PRAGMA user_version = {}", kSchemaVersion).c_str(),
         "setting the schema version");
    transaction.commit();
}

}  // namespace

struct AccountStore::Db {
    sqlite3* handle = nullptr;
    ~Db() { sqlite3_close_v2(handle); }
};

AccountStore::AccountStore(const fs::path& file) : file_(file), db_(std::make_unique<Db>()) {
    // The directory and the file are the service user's only: they hold password hashes.
    try {
        create_private_directories(file_.parent_path());
        create_private_file(file_);
    } catch (const std::system_error& e) {
        throw AccountError(e.what());
    }
    const int rc = sqlite3_open_v2(file_.c_str(), &db_->handle,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) fail(file_, db_->handle, rc, "opening the account database");
    sqlite3_busy_timeout(db_->handle, kBusyTimeoutMs);
    exec(file_, db_->handle, "PRAGMA journal_mode = WAL", "switching to WAL");
    migrate(file_, db_->handle);
}

AccountStore::~AccountStore() = default;

bool AccountStore::empty() {
    Statement query(file_, db_->handle, "SELECT count(*) FROM accounts", "counting accounts");
    return !query.step() || query.integer(0) == 0;
}

std::optional<std::string> AccountStore::password_hash(const std::string& user) {
    Statement query(file_, db_->handle, "SELECT password_hash FROM accounts WHERE name = ?1",
                    "reading an account");
    query.bind(1, user);
    if (!query.step()) return std::nullopt;
    return query.text(0);
}

void AccountStore::set_password_hash(const std::string& user, const std::string& hash) {
    const std::string now = now_utc();
    Statement upsert(file_, db_->handle,
                     "INSERT INTO accounts (name, password_hash, created_at, password_changed_at) "
                     "VALUES (?1, ?2, ?3, ?3) ON CONFLICT (name) DO UPDATE SET "
                     "password_hash = excluded.password_hash, password_changed_at = ?3",
                     "setting a password");
    upsert.bind(1, user).bind(2, hash).bind(3, now);
    upsert.step();
}

bool AccountStore::create_first(const std::string& user, const std::string& hash) {
    // In one write transaction, so a `passwd` run at the same moment cannot be overwritten.
    Transaction transaction(file_, db_->handle);
    if (!empty()) return false;
    set_password_hash(user, hash);
    transaction.commit();
    return true;
}

std::vector<AccountInfo> AccountStore::list() {
    Statement query(file_, db_->handle,
                    "SELECT name, created_at, password_changed_at FROM accounts ORDER BY name",
                    "listing accounts");
    std::vector<AccountInfo> out;
    while (query.step()) out.push_back({query.text(0), query.text(1), query.text(2)});
    return out;
}

AccountStore::RemoveResult AccountStore::remove(const std::string& user) {
    // Counted and deleted in one write transaction: two operators deleting the last two
    // accounts at once cannot leave none.
    Transaction transaction(file_, db_->handle);
    if (!password_hash(user)) return RemoveResult::no_such_account;
    Statement count(file_, db_->handle, "SELECT count(*) FROM accounts", "counting accounts");
    if (count.step() && count.integer(0) <= 1) return RemoveResult::last_account;
    Statement erase(file_, db_->handle, "DELETE FROM accounts WHERE name = ?1",
                    "deleting an account");
    erase.bind(1, user);
    erase.step();
    transaction.commit();
    return RemoveResult::removed;
}

std::optional<std::string> AccountStore::setting(const std::string& name) {
    Statement query(file_, db_->handle, "SELECT value FROM settings WHERE name = ?1",
                    "reading a setting");
    query.bind(1, name);
    if (!query.step()) return std::nullopt;
    return query.text(0);
}

void AccountStore::set_setting(const std::string& name, const std::string& value) {
    Statement upsert(file_, db_->handle,
                     "INSERT INTO settings (name, value, changed_at) VALUES (?1, ?2, ?3) "
                     "ON CONFLICT (name) DO UPDATE SET value = excluded.value, "
                     "changed_at = excluded.changed_at",
                     "storing a setting");
    upsert.bind(1, name).bind(2, value).bind(3, now_utc());
    upsert.step();
}

void AccountStore::audit(const AdminAuditEntry& entry) {
    Statement insert(file_, db_->handle,
                     "INSERT INTO audit (at, who, client, action, detail) "
                     "VALUES (?1, ?2, ?3, ?4, ?5)",
                     "writing the audit log");
    insert.bind(1, entry.at.empty() ? now_utc() : entry.at)
        .bind(2, entry.who)
        .bind(3, entry.client)
        .bind(4, entry.action)
        .bind(5, entry.detail);
    insert.step();
}

std::vector<AdminAuditEntry> AccountStore::audit_log(std::size_t limit) {
    Statement query(file_, db_->handle,
                    "SELECT id, at, who, client, action, detail FROM audit "
                    "ORDER BY id DESC LIMIT ?1",
                    "reading the audit log");
    query.bind(1, static_cast<std::int64_t>(limit));
    std::vector<AdminAuditEntry> out;
    while (query.step())
        out.push_back({query.integer(0), query.text(1), query.text(2), query.text(3), query.text(4),
                       query.text(5)});
    return out;
}

}  // namespace edgeway::admin
