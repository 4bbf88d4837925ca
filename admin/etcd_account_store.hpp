// The accounts and the admin audit log in etcd, shared by the cores of a cluster; the node's own
// settings stay in its admin.db. Key layout under the prefix:
//
//   admin/accounts/<name>  {"password_hash": "scrypt$...", "created_at", "password_changed_at"}
//   audit/admin/<random>   {"at", "who", "client", "action", "detail"}; create_revision is its id
//
// Logins go on when etcd is unreachable, against the accounts as last read (see password_hash).
// Private to admin/.
#pragma once

#include "admin/account_store.hpp"

#include <random>

namespace edgeway::admin {

class EtcdAccountStore final : public AccountStorage {
  public:
    EtcdAccountStore(state::EtcdOptions options, const std::filesystem::path& settings_file);

    bool empty() override;
    // When no member answers: the hash as last read, so that operators can still log in and
    // see the node while the store is down (a password changed meanwhile elsewhere counts once
    // this core reads again: writes cannot happen while it is unreachable from here, and what
    // another core wrote reaches this one as soon as it is reachable again).
    std::optional<std::string> password_hash(const std::string& user) override;
    void set_password_hash(const std::string& user, const std::string& hash) override;
    bool create_first(const std::string& user, const std::string& hash) override;
    std::vector<AccountInfo> list() override;
    RemoveResult remove(const std::string& user) override;
    std::optional<std::string> setting(const std::string& name) override;
    void set_setting(const std::string& name, const std::string& value) override;
    void audit(const AdminAuditEntry& entry) override;
    std::vector<AdminAuditEntry> audit_log(std::size_t limit) override;
    void check_writable() override;
    std::string where() const override;

  private:
    // Every account, fresh; or the last read when no member answers: in this process, else the
    // cached copy (none: throws).
    const state::Range& accounts();

    state::Client client_;
    AccountStore local_;  // the node's settings
    state::RangeCache cache_;
    std::mt19937_64 random_;
    std::optional<state::Range> last_accounts_;
    std::optional<std::vector<AdminAuditEntry>> last_audit_;
};

}  // namespace edgeway::admin
