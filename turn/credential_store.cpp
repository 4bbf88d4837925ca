// The schema has a version (PRAGMA user_version) and a migration ladder like the other stores:
// step i brings version i to i + 1, all in one transaction.
#include "turn/credential_store.hpp"

#include "common/private_files.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include <chrono>
#include <ctime>
#include <iterator>
#include <system_error>

namespace edgeway::turn {
namespace {

namespace fs = std::filesystem;

constexpr int kSchemaVersion = 1;
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
    throw CredentialError(fmt::format("{}: {}: {}", file.string(), doing,
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
CREATE TABLE users (
  name TEXT PRIMARY KEY CHECK (name <> ''),
  realm TEXT NOT NULL,
  key_md5 TEXT NOT NULL CHECK (length(key_md5) = 32),
  created_at TEXT NOT NULL,
  changed_at TEXT NOT NULL
);
CREATE TABLE settings (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
)sql",
         "creating the schema (version 1)");
}

using MigrationStep = void (*)(const fs::path&, sqlite3*);
constexpr MigrationStep kMigrations[] = {&migrate_to_1};
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
        throw CredentialError(
            fmt::format("{}: schema version {} is not one this edgeway knows (up to {})",
                        file.string(), from, kSchemaVersion));
    for (int version = from; version < kSchemaVersion; ++version) kMigrations[version](file, db);
    exec(file, db, fmt::format("PRAGMA user_version = {}", kSchemaVersion).c_str(),
         "setting the schema version");
    transaction.commit();
}

std::optional<stun::Md5> parse_key(const std::string& text) {
    stun::Md5 key{};
    if (text.size() != 32) return std::nullopt;
    for (std::size_t i = 0; i < 16; ++i) {
        unsigned value = 0;
        for (std::size_t k = 0; k < 2; ++k) {
            const char c = text[2 * i + k];
            value <<= 4;
            if (c >= '0' && c <= '9')
                value |= static_cast<unsigned>(c - '0');
            else if (c >= 'a' && c <= 'f')
                value |= static_cast<unsigned>(c - 'a' + 10);
            else
                return std::nullopt;
        }
        key[i] = static_cast<std::uint8_t>(value);
    }
    return key;
}

}  // namespace

struct CredentialStore::Db {
    sqlite3* handle = nullptr;
    ~Db() { sqlite3_close_v2(handle); }
};

CredentialStore::CredentialStore(const fs::path& file) : file_(file), db_(std::make_unique<Db>()) {
    // The keys are password-equivalent: the directory and the file are the service user's only.
    try {
        create_private_directories(file_.parent_path());
        create_private_file(file_);
    } catch (const std::system_error& e) {
        throw CredentialError(e.what());
    }
    const int rc = sqlite3_open_v2(file_.c_str(), &db_->handle,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) fail(file_, db_->handle, rc, "opening the TURN credential database");
    sqlite3_busy_timeout(db_->handle, kBusyTimeoutMs);
    exec(file_, db_->handle, "PRAGMA journal_mode = WAL", "switching to WAL");
    migrate(file_, db_->handle);
}

CredentialStore::~CredentialStore() = default;

void CredentialStore::set_user(const std::string& name, const std::string& realm,
                               const std::string& password) {
    const auto key = stun::long_term_key(name, realm, password);
    const std::string now = now_utc();
    Statement upsert(file_, db_->handle,
                     "INSERT INTO users (name, realm, key_md5, created_at, changed_at) "
                     "VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT (name) DO UPDATE SET "
                     "realm = excluded.realm, key_md5 = excluded.key_md5, changed_at = ?4",
                     "setting a TURN user");
    upsert.bind(1, name).bind(2, realm).bind(3, stun::hex(key)).bind(4, now);
    upsert.step();
}

bool CredentialStore::remove_user(const std::string& name) {
    Statement remove(file_, db_->handle, "DELETE FROM users WHERE name = ?1",
                     "removing a TURN user");
    remove.bind(1, name);
    remove.step();
    return sqlite3_changes(db_->handle) > 0;
}

std::vector<StoredUser> CredentialStore::users() {
    Statement query(file_, db_->handle,
                    "SELECT name, realm, created_at, changed_at FROM users ORDER BY name",
                    "listing TURN users");
    std::vector<StoredUser> users;
    while (query.step())
        users.push_back({query.text(0), query.text(1), query.text(2), query.text(3)});
    return users;
}

std::optional<StoredKey> CredentialStore::find(const std::string& name) {
    Statement query(file_, db_->handle, "SELECT realm, key_md5 FROM users WHERE name = ?1",
                    "reading a TURN user");
    query.bind(1, name);
    if (!query.step()) return std::nullopt;
    const auto key = parse_key(query.text(1));
    if (!key)
        throw CredentialError(
            fmt::format("{}: the key of TURN user '{}' is damaged", file_.string(), name));
    return StoredKey{query.text(0), *key};
}

std::optional<std::string> CredentialStore::shared_secret() {
    Statement query(file_, db_->handle, "SELECT value FROM settings WHERE name = 'rest_api_secret'",
                    "reading the shared secret");
    if (!query.step()) return std::nullopt;
    return query.text(0);
}

void CredentialStore::set_shared_secret(const std::optional<std::string>& secret) {
    if (!secret) {
        exec(file_, db_->handle, "DELETE FROM settings WHERE name = 'rest_api_secret'",
             "clearing the shared secret");
        return;
    }
    Statement upsert(file_, db_->handle,
                     "INSERT INTO settings (name, value) VALUES ('rest_api_secret', ?1) "
                     "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                     "setting the shared secret");
    upsert.bind(1, *secret);
    upsert.step();
}

}  // namespace edgeway::turn
