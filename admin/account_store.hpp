// Local admin accounts in DIR/admin.db (SQLite, WAL): user names and scrypt password hashes.
// The running server and `edgeway admin passwd` open the same file; the server reads the
// account on every login, so a password set from the shell counts at once.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace edgeway::admin {

class AccountError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
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

  private:
    struct Db;
    std::filesystem::path file_;
    std::unique_ptr<Db> db_;
};

}  // namespace edgeway::admin
