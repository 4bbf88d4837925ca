#include "admin/etcd_account_store.hpp"

#include "admin/admin.hpp"

#include "common/sqlite.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace edgeway::admin {
namespace {

using json = nlohmann::json;
using state::Compare;
using state::Operation;

constexpr const char* kAccounts = "admin/accounts/";
constexpr const char* kAudit = "audit/admin/";
constexpr int kMaxAttempts = 10;

json account_json(const state::KeyValue& kv, const std::string& where) {
    json doc = json::parse(kv.value, nullptr, false);
    if (!doc.is_object() || !doc.value("password_hash", json()).is_string())
        throw AccountError(fmt::format("{}: invalid account {}", where, kv.key));
    return doc;
}

std::string name_of(const state::KeyValue& kv) {
    return kv.key.substr(std::string_view(kAccounts).size());
}

}  // namespace

EtcdAccountStore::EtcdAccountStore(state::EtcdOptions options,
                                   const std::filesystem::path& settings_file)
    : client_(std::move(options)),
      local_(settings_file),
      cache_(settings_file.parent_path() / kAccountCacheFile),
      random_(std::random_device{}()) {}

std::string EtcdAccountStore::where() const {
    return fmt::format("{} (prefix {})", state::describe(client_.options()),
                       client_.options().prefix);
}

const state::Range& EtcdAccountStore::accounts() {
    try {
        last_accounts_ = client_.get_prefix(kAccounts);
        cache_.save(*last_accounts_);
    } catch (const state::Unavailable&) {
        // Started while no member answers: the accounts this node read before it restarted.
        if (!last_accounts_) last_accounts_ = cache_.load();
        if (!last_accounts_) throw;
    }
    return *last_accounts_;
}

void EtcdAccountStore::check_writable() {
    // A linearizable read with "hasleader": it fails exactly when a write would.
    last_accounts_ = client_.get_prefix(kAccounts);
    cache_.save(*last_accounts_);
}

bool EtcdAccountStore::empty() {
    return accounts().kvs.empty();
}

std::optional<std::string> EtcdAccountStore::password_hash(const std::string& user) {
    const auto* kv = accounts().find(kAccounts + user);
    if (!kv) return std::nullopt;
    return account_json(*kv, where())["password_hash"].get<std::string>();
}

void EtcdAccountStore::set_password_hash(const std::string& user, const std::string& hash) {
    // What the SQLite schema checks, with the same words for the same mistake.
    if (!hash.starts_with("scrypt$") || user.empty())
        throw AccountError(fmt::format("{}: setting a password: not a password hash", where()));
    const std::string key = kAccounts + user;
    for (int attempt = 1;; ++attempt) {
        const state::Range current = client_.get(key);
        const std::string now = sqlite::now_utc();
        json doc = {{"password_hash", hash}, {"created_at", now}, {"password_changed_at", now}};
        std::int64_t revision = 0;
        if (const auto* kv = current.find(key)) {
            doc["created_at"] = account_json(*kv, where()).value("created_at", now);
            revision = kv->mod_revision;
        }
        if (client_
                .txn({Compare::mod_revision_is(key, revision)}, {Operation::put(key, doc.dump())})
                .succeeded)
            return;
        if (attempt == kMaxAttempts)
            throw AccountError(fmt::format("{}: the account {} kept changing; nothing was changed",
                                           where(), user));
    }
}

bool EtcdAccountStore::create_first(const std::string& user, const std::string& hash) {
    // Two cores starting at once: only one creates it (and logs its password).
    const std::string now = sqlite::now_utc();
    const json doc = {{"password_hash", hash}, {"created_at", now}, {"password_changed_at", now}};
    return client_
        .txn({Compare::none_under(kAccounts)}, {Operation::put(kAccounts + user, doc.dump())})
        .succeeded;
}

std::vector<AccountInfo> EtcdAccountStore::list() {
    std::vector<AccountInfo> out;
    for (const auto& kv : accounts().kvs) {
        const json doc = account_json(kv, where());
        out.push_back(
            {name_of(kv), doc.value("created_at", ""), doc.value("password_changed_at", "")});
    }
    return out;  // by key, so by name
}

AccountStorage::RemoveResult EtcdAccountStore::remove(const std::string& user) {
    const std::string key = kAccounts + user;
    for (int attempt = 1;; ++attempt) {
        const state::Range all = client_.get_prefix(kAccounts);
        if (!all.find(key)) return RemoveResult::no_such_account;
        if (all.kvs.size() <= 1) return RemoveResult::last_account;
        // Every account as read, still there and unchanged: two operators deleting the last
        // two accounts from two cores at once cannot leave none.
        std::vector<Compare> compares;
        for (const auto& kv : all.kvs)
            compares.push_back(Compare::mod_revision_is(kv.key, kv.mod_revision));
        if (client_.txn(compares, {Operation::erase(key)}).succeeded) return RemoveResult::removed;
        if (attempt == kMaxAttempts)
            throw AccountError(
                fmt::format("{}: the accounts kept changing; nothing was changed", where()));
    }
}

std::optional<std::string> EtcdAccountStore::setting(const std::string& name) {
    return local_.setting(name);
}

void EtcdAccountStore::set_setting(const std::string& name, const std::string& value) {
    local_.set_setting(name, value);
}

void EtcdAccountStore::audit(const AdminAuditEntry& entry) {
    const json doc = {{"at", entry.at.empty() ? sqlite::now_utc() : entry.at},
                      {"who", entry.who},
                      {"client", entry.client},
                      {"action", entry.action},
                      {"detail", entry.detail}};
    client_.put(fmt::format("{}{:016x}{:016x}", kAudit, random_(), random_()), doc.dump());
}

std::vector<AdminAuditEntry> EtcdAccountStore::audit_log(std::size_t limit) {
    try {
        const auto range = client_.get_prefix(
            kAudit, {static_cast<std::int64_t>(std::min<std::size_t>(limit, 1'000'000)), true});
        std::vector<AdminAuditEntry> out;
        for (const auto& kv : range.kvs) {
            const json doc = json::parse(kv.value, nullptr, false);
            if (!doc.is_object())
                throw AccountError(fmt::format("{}: invalid audit entry {}", where(), kv.key));
            out.push_back({kv.create_revision, doc.value("at", ""), doc.value("who", ""),
                           doc.value("client", ""), doc.value("action", ""),
                           doc.value("detail", "")});
        }
        last_audit_ = out;
        return out;
    } catch (const state::Unavailable&) {
        if (!last_audit_) throw;
        return *last_audit_;
    }
}

std::unique_ptr<AccountStorage> open_account_storage(const state::Config& config,
                                                     const std::filesystem::path& sqlite_file) {
    if (config.backend == state::Backend::etcd)
        return std::make_unique<EtcdAccountStore>(config.etcd, sqlite_file);
    return std::make_unique<AccountStore>(sqlite_file);
}

}  // namespace edgeway::admin
