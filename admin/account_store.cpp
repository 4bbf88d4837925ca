// The schema has a version (PRAGMA user_version) and a migration ladder like the rule store's:
// step i brings version i to i + 1, all in one transaction.
#include "admin/account_store.hpp"

#include "common/sqlite.hpp"

#include <fmt/format.h>

namespace edgeway::admin {
namespace {

namespace fs = std::filesystem;

using sqlite::now_utc;
using sqlite::Statement;
using sqlite::Transaction;

[[noreturn]] void raise_account_error(const std::string& message) {
    throw AccountError(message);
}

void migrate_to_1(sqlite::Database& db) {
    db.exec(R"sql(
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
void migrate_to_2(sqlite::Database& db) {
    db.exec(R"sql(
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

constexpr sqlite::Database::Step kMigrations[] = {&migrate_to_1, &migrate_to_2};

}  // namespace

struct AccountStore::Db {
    // The directory and the file are the service user's only: they hold password hashes.
    explicit Db(const fs::path& file) : db(file, &raise_account_error) {}
    sqlite::Database db;
};

AccountStore::AccountStore(const fs::path& file) : file_(file), db_(std::make_unique<Db>(file)) {
    db_->db.migrate(kMigrations, "an edgeway account database");
}

AccountStore::~AccountStore() = default;

bool AccountStore::empty() {
    Statement query(db_->db, "SELECT count(*) FROM accounts", "counting accounts");
    return !query.step() || query.integer(0) == 0;
}

std::optional<std::string> AccountStore::password_hash(const std::string& user) {
    Statement query(db_->db, "SELECT password_hash FROM accounts WHERE name = ?1",
                    "reading an account");
    query.bind(1, user);
    if (!query.step()) return std::nullopt;
    return query.text(0);
}

void AccountStore::set_password_hash(const std::string& user, const std::string& hash) {
    const std::string now = now_utc();
    Statement upsert(db_->db,
                     "INSERT INTO accounts (name, password_hash, created_at, password_changed_at) "
                     "VALUES (?1, ?2, ?3, ?3) ON CONFLICT (name) DO UPDATE SET "
                     "password_hash = excluded.password_hash, password_changed_at = ?3",
                     "setting a password");
    upsert.bind(1, user).bind(2, hash).bind(3, now);
    upsert.step();
}

bool AccountStore::create_first(const std::string& user, const std::string& hash) {
    // In one write transaction, so a `passwd` run at the same moment cannot be overwritten.
    Transaction transaction(db_->db, Transaction::write);
    if (!empty()) return false;
    set_password_hash(user, hash);
    transaction.commit();
    return true;
}

std::vector<AccountInfo> AccountStore::list() {
    Statement query(db_->db,
                    "SELECT name, created_at, password_changed_at FROM accounts ORDER BY name",
                    "listing accounts");
    std::vector<AccountInfo> out;
    while (query.step()) out.push_back({query.text(0), query.text(1), query.text(2)});
    return out;
}

AccountStore::RemoveResult AccountStore::remove(const std::string& user) {
    // Counted and deleted in one write transaction: two operators deleting the last two
    // accounts at once cannot leave none.
    Transaction transaction(db_->db, Transaction::write);
    if (!password_hash(user)) return RemoveResult::no_such_account;
    Statement count(db_->db, "SELECT count(*) FROM accounts", "counting accounts");
    if (count.step() && count.integer(0) <= 1) return RemoveResult::last_account;
    Statement erase(db_->db, "DELETE FROM accounts WHERE name = ?1", "deleting an account");
    erase.bind(1, user);
    erase.step();
    transaction.commit();
    return RemoveResult::removed;
}

std::optional<std::string> AccountStore::setting(const std::string& name) {
    Statement query(db_->db, "SELECT value FROM settings WHERE name = ?1", "reading a setting");
    query.bind(1, name);
    if (!query.step()) return std::nullopt;
    return query.text(0);
}

void AccountStore::set_setting(const std::string& name, const std::string& value) {
    Statement upsert(db_->db,
                     "INSERT INTO settings (name, value, changed_at) VALUES (?1, ?2, ?3) "
                     "ON CONFLICT (name) DO UPDATE SET value = excluded.value, "
                     "changed_at = excluded.changed_at",
                     "storing a setting");
    upsert.bind(1, name).bind(2, value).bind(3, now_utc());
    upsert.step();
}

void AccountStore::audit(const AdminAuditEntry& entry) {
    Statement insert(db_->db,
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
    Statement query(db_->db,
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
