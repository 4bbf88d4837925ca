// The schema has a version (PRAGMA user_version) and a migration ladder like the other stores
// (common/sqlite.hpp): step i brings version i to i + 1, all in one transaction. Every change
// also raises the set's version (settings 'version') in the same transaction, so that a core
// pushing the set to its edges numbers each content differently, even across restarts.
#include "turn/credential_store.hpp"

#include "common/sqlite.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

namespace edgeway::turn {
namespace {

namespace fs = std::filesystem;

using sqlite::now_utc;
using sqlite::Statement;

[[noreturn]] void raise_credential_error(const std::string& message) {
    throw CredentialError(message);
}

void migrate_to_1(sqlite::Database& db) {
    db.exec(R"sql(
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

constexpr sqlite::Database::Step kMigrations[] = {&migrate_to_1};

}  // namespace

std::optional<stun::Md5> parse_stored_key(const std::string& text) {
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

struct CredentialStore::Db {
    // The keys are password-equivalent: the directory (0700) and the file (0600) are the
    // service user's only.
    explicit Db(const fs::path& file) : db(file, &raise_credential_error) {}
    sqlite::Database db;
    std::int64_t data_version = 0;

    void bump_version() {
        db.exec(
            "INSERT INTO settings (name, value) VALUES ('version', '1') ON CONFLICT (name) "
            "DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)",
            "raising the credentials version");
    }
};

CredentialStore::CredentialStore(const fs::path& file)
    : file_(file), db_(std::make_unique<Db>(file)) {
    db_->db.migrate(kMigrations, "an edgeway TURN credential database");
    db_->data_version = db_->db.data_version();
}

bool CredentialStore::changed_elsewhere() {
    const std::int64_t now = db_->db.data_version();
    const bool changed = now != db_->data_version;
    db_->data_version = now;
    return changed;
}

CredentialSet CredentialStore::credential_set() {
    sqlite::Transaction transaction(db_->db, sqlite::Transaction::read);
    CredentialSet set;
    Statement users(db_->db, "SELECT name, realm, key_md5 FROM users ORDER BY name",
                    "reading the TURN users");
    while (users.step()) set.users[users.text(0)] = {users.text(1), users.text(2)};
    Statement settings(db_->db, "SELECT name, value FROM settings", "reading the TURN settings");
    while (settings.step()) {
        if (settings.text(0) == "rest_api_secret") set.rest_api_secret = settings.text(1);
        if (settings.text(0) == "version")
            set.version = static_cast<std::uint64_t>(std::stoull(settings.text(1)));
    }
    return set;
}

CredentialStore::~CredentialStore() = default;

void CredentialStore::set_user(const std::string& name, const std::string& realm,
                               const std::string& password) {
    const auto key = stun::long_term_key(name, realm, password);
    const std::string now = now_utc();
    Statement upsert(db_->db,
                     "INSERT INTO users (name, realm, key_md5, created_at, changed_at) "
                     "VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT (name) DO UPDATE SET "
                     "realm = excluded.realm, key_md5 = excluded.key_md5, changed_at = ?4",
                     "setting a TURN user");
    sqlite::Transaction transaction(db_->db, sqlite::Transaction::write);
    upsert.bind(1, name).bind(2, realm).bind(3, stun::hex(key)).bind(4, now);
    upsert.step();
    db_->bump_version();
    transaction.commit();
}

bool CredentialStore::remove_user(const std::string& name) {
    sqlite::Transaction transaction(db_->db, sqlite::Transaction::write);
    Statement remove(db_->db, "DELETE FROM users WHERE name = ?1", "removing a TURN user");
    remove.bind(1, name);
    remove.step();
    if (sqlite3_changes(db_->db.get()) == 0) return false;
    db_->bump_version();
    transaction.commit();
    return true;
}

std::vector<StoredUser> CredentialStore::users() {
    Statement query(db_->db, "SELECT name, realm, created_at, changed_at FROM users ORDER BY name",
                    "listing TURN users");
    std::vector<StoredUser> users;
    while (query.step())
        users.push_back({query.text(0), query.text(1), query.text(2), query.text(3)});
    return users;
}

std::optional<StoredKey> CredentialStore::find(const std::string& name) {
    Statement query(db_->db, "SELECT realm, key_md5 FROM users WHERE name = ?1",
                    "reading a TURN user");
    query.bind(1, name);
    if (!query.step()) return std::nullopt;
    const auto key = parse_stored_key(query.text(1));
    if (!key)
        throw CredentialError(
            fmt::format("{}: the key of TURN user '{}' is damaged", file_.string(), name));
    return StoredKey{query.text(0), *key};
}

std::optional<std::string> CredentialStore::shared_secret() {
    Statement query(db_->db, "SELECT value FROM settings WHERE name = 'rest_api_secret'",
                    "reading the shared secret");
    if (!query.step()) return std::nullopt;
    return query.text(0);
}

void CredentialStore::set_shared_secret(const std::optional<std::string>& secret) {
    sqlite::Transaction transaction(db_->db, sqlite::Transaction::write);
    if (!secret) {
        db_->db.exec("DELETE FROM settings WHERE name = 'rest_api_secret'",
                     "clearing the shared secret");
    } else {
        Statement upsert(db_->db,
                         "INSERT INTO settings (name, value) VALUES ('rest_api_secret', ?1) "
                         "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                         "setting the shared secret");
        upsert.bind(1, *secret);
        upsert.step();
    }
    db_->bump_version();
    transaction.commit();
}

}  // namespace edgeway::turn
