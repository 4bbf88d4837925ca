// The admin database DIR/admin.db (SQLite, WAL): local admin accounts (user names and scrypt
// password hashes), the node's own settings, and the audit log of admin changes.
// The running server and `edgeway admin passwd` open the same file; the server reads the
// account on every login, so a password set from the shell counts at once.
#pragma once

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

class AccountStore {
  public:
    // Opens (creating, mode 0600 in a 0700 directory) and migrates the database. Throws
    // AccountError naming the file.
    explicit AccountStore(const std::filesystem::path& file);
    ~AccountStore();
    AccountStore(const AccountStore&) = delete;
    AccountStore& operator=(const AccountStore&) = delete;

    bool empty();
    // The stored hash (never the password), or nothing for an unknown user.
    std::optional<std::string> password_hash(const std::string& user);
    // Creates the account or replaces its hash.
    void set_password_hash(const std::string& user, const std::string& hash);
    // Creates the account only when no account exists at all (first start); false otherwise.
    bool create_first(const std::string& user, const std::string& hash);

    std::vector<AccountInfo> list();  // by name
    enum class RemoveResult { removed, no_such_account, last_account };
    // Never removes the last account (the appliance would have no way in).
    RemoveResult remove(const std::string& user);

    std::optional<std::string> setting(const std::string& name);
    void set_setting(const std::string& name, const std::string& value);

    void audit(const AdminAuditEntry& entry);
    std::vector<AdminAuditEntry> audit_log(std::size_t limit);  // newest first

  private:
    struct Db;
    std::filesystem::path file_;
    std::unique_ptr<Db> db_;
};

}  // namespace edgeway::admin
