// Where a node keeps its admin accounts (user names and scrypt password hashes), its own
// settings and the audit log of admin changes: AccountStore, the SQLite database DIR/admin.db
// (WAL), or, for the cores of a cluster, etcd (open_account_storage) for the accounts and the
// audit log, shared by every core, with the node's own settings still in its admin.db.
// The running server and `edgeway admin passwd` open the same store; the server reads the
// account on every login, so a password set from the shell counts at once.
#pragma once

#include "state/state.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace edgeway::admin {

class AccountError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct AccountInfo {
    std::string name;
    std::string created_at, password_changed_at;  // ISO-8601 UTC
};

struct AdminAuditEntry {
    std::int64_t id = 0;
    std::string at;      // ISO-8601 UTC; set on writing when empty
    std::string who;     // "admin:alice"
    std::string client;  // the address the change came from
    std::string action;  // "account added", "certificate replaced", ...
    std::string detail;
};

// Not thread-safe: one owner thread. The etcd one throws state::Unavailable when no member
// answers: writes change nothing then; reads of the accounts give the last ones read.
class AccountStorage {
  public:
    virtual ~AccountStorage() = default;

    virtual bool empty() = 0;
    // The stored hash (never the password), or nothing for an unknown user.
    virtual std::optional<std::string> password_hash(const std::string& user) = 0;
    // Creates the account or replaces its hash.
    virtual void set_password_hash(const std::string& user, const std::string& hash) = 0;
    // Creates the account only when no account exists at all (first start); false otherwise.
    virtual bool create_first(const std::string& user, const std::string& hash) = 0;

    virtual std::vector<AccountInfo> list() = 0;  // by name
    enum class RemoveResult { removed, no_such_account, last_account };
    // Never removes the last account (the appliance would have no way in).
    virtual RemoveResult remove(const std::string& user) = 0;

    // The node's own settings (the admin listener's address): never shared.
    virtual std::optional<std::string> setting(const std::string& name) = 0;
    virtual void set_setting(const std::string& name, const std::string& value) = 0;

    virtual void audit(const AdminAuditEntry& entry) = 0;
    virtual std::vector<AdminAuditEntry> audit_log(std::size_t limit) = 0;  // newest first

    // Throws state::Unavailable when a change could not be stored now (SQLite: never), so a
    // change can be refused before any part of it is made.
    virtual void check_writable() {}
    // Where the accounts live, for messages.
    virtual std::string where() const = 0;
};

class AccountStore final : public AccountStorage {
  public:
    // Opens (creating, mode 0600 in a 0700 directory) and migrates the database. Throws
    // AccountError naming the file.
    explicit AccountStore(const std::filesystem::path& file);
    ~AccountStore();
    AccountStore(const AccountStore&) = delete;
    AccountStore& operator=(const AccountStore&) = delete;

    bool empty() override;
    std::optional<std::string> password_hash(const std::string& user) override;
    void set_password_hash(const std::string& user, const std::string& hash) override;
    bool create_first(const std::string& user, const std::string& hash) override;
    std::vector<AccountInfo> list() override;
    RemoveResult remove(const std::string& user) override;
    std::optional<std::string> setting(const std::string& name) override;
    void set_setting(const std::string& name, const std::string& value) override;
    void audit(const AdminAuditEntry& entry) override;
    std::vector<AdminAuditEntry> audit_log(std::size_t limit) override;
    std::string where() const override { return file_.string(); }

  private:
    struct Db;
    std::filesystem::path file_;
    std::unique_ptr<Db> db_;
};

// The account storage of a node's configuration: DIR/admin.db (sqlite_file), or etcd for the
// accounts and the audit log with the node's settings in sqlite_file.
std::unique_ptr<AccountStorage> open_account_storage(const state::Config& config,
                                                     const std::filesystem::path& sqlite_file);

}  // namespace edgeway::admin
