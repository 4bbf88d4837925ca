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

#include "state/state.hpp"
#include "turn/integrity.hpp"
#include "turn/turn.hpp"

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

// What the relay reads on every authenticated request: a user's realm and key, the REST API
// secret. Implemented by the credential storages below and, for an edge of a cluster, by the
// set the cores push to it (kept in memory). Used on the relay's thread only.
class CredentialSource {
  public:
    virtual ~CredentialSource() = default;
    virtual std::optional<StoredKey> find(const std::string& name) = 0;
    virtual std::optional<std::string> shared_secret() = 0;
    // Where the credentials come from, for the operator's messages: the file, or etcd.
    virtual std::string where() const = 0;
    // What an unknown user's refusal names: "local credential database (FILE)".
    virtual std::string unknown_user_context() const {
        return "local credential database (" + where() + ")";
    }
};

// Credentials an operator can change: the edge's turn.db (CredentialStore), or the cluster's
// etcd (open_credential_storage), from which the cores push them to their edges. Not
// thread-safe; the etcd one throws state::Unavailable when no member answers (changing nothing).
class CredentialStorage : public CredentialSource {
  public:
    // Creates the user or replaces its key.
    virtual void set_user(const std::string& name, const std::string& realm,
                          const std::string& password) = 0;
    virtual bool remove_user(const std::string& name) = 0;  // false: no such user
    virtual std::vector<StoredUser> users() = 0;
    virtual void set_shared_secret(const std::optional<std::string>& secret) = 0;  // nullopt clears
    // Everything at once, as the cores push it: one consistent read, with the version.
    virtual CredentialSet credential_set() = 0;
};

class CredentialStore final : public CredentialStorage {
  public:
    // Opens (creating and migrating) the database. Throws CredentialError naming the file.
    explicit CredentialStore(const std::filesystem::path& file);
    ~CredentialStore();
    CredentialStore(const CredentialStore&) = delete;
    CredentialStore& operator=(const CredentialStore&) = delete;

    void set_user(const std::string& name, const std::string& realm,
                  const std::string& password) override;
    bool remove_user(const std::string& name) override;
    std::vector<StoredUser> users() override;
    std::optional<StoredKey> find(const std::string& name) override;
    std::optional<std::string> shared_secret() override;
    void set_shared_secret(const std::optional<std::string>& secret) override;
    CredentialSet credential_set() override;
    std::string where() const override { return file_.string(); }
    // True when another connection committed a change since the last call (PRAGMA data_version).
    bool changed_elsewhere();

    const std::filesystem::path& file() const { return file_; }

  private:
    struct Db;
    std::filesystem::path file_;
    std::unique_ptr<Db> db_;
};

// The credential storage a configuration names: the SQLite file, or the cluster's etcd.
// The etcd one keeps its keys under kEtcdCredentialPrefix.
std::unique_ptr<CredentialStorage> open_credential_storage(
    const state::Config& config, const std::filesystem::path& sqlite_file);

constexpr const char* kEtcdCredentialPrefix = "turn/";

// MD5(user:realm:password) as stored: 32 lowercase hex digits; nothing when damaged.
std::optional<stun::Md5> parse_stored_key(const std::string& text);

}  // namespace edgeway::turn
