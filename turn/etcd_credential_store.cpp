// TURN credentials in etcd, shared by the cores of a cluster (which push them to their edges).
// Key layout under the prefix:
//
//   turn/users/<name>     {"realm", "key_md5", "created_at", "changed_at"}: the long-term key
//                         MD5(user:realm:password) in hex, never the password (see
//                         credential_store.hpp for why it is not a slow hash)
//   turn/rest_api_secret  the TURN REST API's shared secret
#include "turn/credential_store.hpp"

#include "common/sqlite.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace edgeway::turn {
namespace {

using json = nlohmann::json;
using state::Compare;
using state::Operation;

constexpr const char* kUsers = "turn/users/";
constexpr const char* kSecret = "turn/rest_api_secret";
static_assert(std::string_view(kUsers).starts_with(kEtcdCredentialPrefix));
constexpr int kMaxAttempts = 10;

class EtcdCredentialStore final : public CredentialStorage {
  public:
    explicit EtcdCredentialStore(state::EtcdOptions options) : client_(std::move(options)) {}

    void set_user(const std::string& name, const std::string& realm,
                  const std::string& password) override {
        const std::string key = kUsers + name;
        const std::string key_md5 = stun::hex(stun::long_term_key(name, realm, password));
        for (int attempt = 1;; ++attempt) {
            const auto current = client_.get(key);
            const std::string now = sqlite::now_utc();
            json doc = {
                {"realm", realm}, {"key_md5", key_md5}, {"created_at", now}, {"changed_at", now}};
            std::int64_t revision = 0;
            if (const auto* kv = current.find(key)) {
                doc["created_at"] = parse(*kv).value("created_at", now);
                revision = kv->mod_revision;
            }
            // Revision-checked, so that a user set from two cores at once keeps its creation
            // time and ends with one of the two keys, whole.
            if (client_
                    .txn({Compare::mod_revision_is(key, revision)},
                         {Operation::put(key, doc.dump())})
                    .succeeded)
                return;
            if (attempt == kMaxAttempts)
                throw CredentialError(fmt::format(
                    "{}: TURN user '{}' kept changing; nothing was changed", where(), name));
        }
    }

    bool remove_user(const std::string& name) override { return client_.erase(kUsers + name); }

    std::vector<StoredUser> users() override {
        std::vector<StoredUser> out;
        for (const auto& kv : client_.get_prefix(kUsers).kvs) {
            const json doc = parse(kv);
            out.push_back({kv.key.substr(std::string_view(kUsers).size()), doc.value("realm", ""),
                           doc.value("created_at", ""), doc.value("changed_at", "")});
        }
        return out;
    }

    std::optional<StoredKey> find(const std::string& name) override {
        const auto range = client_.get(kUsers + name);
        if (range.kvs.empty()) return std::nullopt;
        const json doc = parse(range.kvs.front());
        const auto key = parse_stored_key(doc.value("key_md5", ""));
        if (!key)
            throw CredentialError(
                fmt::format("{}: the key of TURN user '{}' is damaged", where(), name));
        return StoredKey{doc.value("realm", ""), *key};
    }

    std::optional<std::string> shared_secret() override {
        const auto range = client_.get(kSecret);
        if (range.kvs.empty()) return std::nullopt;
        return range.kvs.front().value;
    }

    void set_shared_secret(const std::optional<std::string>& secret) override {
        if (secret)
            client_.put(kSecret, *secret);
        else
            client_.erase(kSecret);
    }

    // One range over the whole prefix: a consistent snapshot, numbered by the revision it was
    // read at, which every core reading the same content later sees as higher.
    CredentialSet credential_set() override {
        const auto range = client_.get_prefix(kEtcdCredentialPrefix);
        CredentialSet set;
        set.version = static_cast<std::uint64_t>(range.revision);
        set.cluster = true;
        for (const auto& kv : range.kvs) {
            if (kv.key == kSecret) {
                set.rest_api_secret = kv.value;
            } else if (kv.key.starts_with(kUsers)) {
                const json doc = parse(kv);
                set.users[kv.key.substr(std::string_view(kUsers).size())] = {
                    doc.value("realm", ""), doc.value("key_md5", "")};
            }
        }
        return set;
    }

    std::string where() const override {
        return fmt::format("{} (prefix {})", state::describe(client_.options()),
                           client_.options().prefix);
    }

  private:
    json parse(const state::KeyValue& kv) const {
        json doc = json::parse(kv.value, nullptr, false);
        if (!doc.is_object())
            throw CredentialError(fmt::format("{}: invalid TURN user {}", where(), kv.key));
        return doc;
    }

    state::Client client_;
};

}  // namespace

std::unique_ptr<CredentialStorage> open_credential_storage(
    const state::Config& config, const std::filesystem::path& sqlite_file) {
    if (config.backend == state::Backend::etcd)
        return std::make_unique<EtcdCredentialStore>(config.etcd);
    return std::make_unique<CredentialStore>(sqlite_file);
}

}  // namespace edgeway::turn
