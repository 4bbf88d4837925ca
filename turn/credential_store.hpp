// TURN users in DIR/turn.db (SQLite, WAL, mode 0600 in a 0700 directory): for each user the
// realm and the long-term key MD5(user:realm:password), never the password; and the optional
// shared secret of the TURN REST API scheme. The relay and `edgeway turn user ...` open the same
// file; the relay reads a user on every authenticated request, so a change counts at once.
//
// Why not a slow hash (scrypt, as the admin accounts use): TURN's long-term credential mechanism
// (RFC 8489 9.2) keys every MESSAGE-INTEGRITY HMAC with exactly MD5(user:realm:password), so the
// server must hold that key; a slow hash of the password could not produce it. The key is
// password-equivalent for this realm only, which is why the file is readable by the service's
// user alone.
#pragma once

#include "turn/integrity.hpp"

#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace edgeway::turn {

class CredentialError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct StoredUser {
    std::string name, realm, created_at, changed_at;
};

struct StoredKey {
    std::string realm;
    stun::Md5 key{};
};

class CredentialStore {
  public:
    // Opens (creating and migrating) the database. Throws CredentialError naming the file.
    explicit CredentialStore(const std::filesystem::path& file);
    ~CredentialStore();
    CredentialStore(const CredentialStore&) = delete;
    CredentialStore& operator=(const CredentialStore&) = delete;

    // Creates the user or replaces its key.
    void set_user(const std::string& name, const std::string& realm, const std::string& password);
    bool remove_user(const std::string& name);  // false: no such user
    std::vector<StoredUser> users();
    std::optional<StoredKey> find(const std::string& name);

    std::optional<std::string> shared_secret();
    void set_shared_secret(const std::optional<std::string>& secret);  // nullopt clears it

    const std::filesystem::path& file() const { return file_; }

  private:
    struct Db;
    std::filesystem::path file_;
    std::unique_ptr<Db> db_;
};

}  // namespace edgeway::turn
