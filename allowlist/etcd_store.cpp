// The rules in etcd, shared by every core of a cluster. Key layout under the prefix:
//
//   allowlist/version    the rule-set version, decimal; raised by every change of what the
//                        edges get, in the same transaction, so it is cluster-wide and monotonic
//   allowlist/next_id    the next operator rule id, decimal
//   allowlist/operator   [{"rule": {...}, "created_at": "..."}, ...] the operator rules by id
//   allowlist/automatic  [{...}, ...] the automatic rules
//   allowlist/web_proxy  {"enabled": ..., "join_urls": [...]}
//   status/targets       [{"uri", "targets", "error", "checked_at"}, ...] (status, unversioned)
//   audit/rules/<random> {"at", "who", "action", "detail"}; its create_revision is its id
//
// Every change reads allowlist/ at one revision, decides, and commits one transaction on the
// condition that allowlist/version was not modified since: two cores racing lose nothing and
// add nothing twice; the loser reads again and decides again (an identical rule: refused).
#include "allowlist/etcd_store.hpp"

#include "allowlist/store_common.hpp"
#include "common/sqlite.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <random>
#include <thread>

namespace edgeway::allowlist {

namespace {

using json = nlohmann::json;
using state::Compare;
using state::Operation;

constexpr const char* kRules = "allowlist/";
constexpr const char* kVersion = "allowlist/version";
constexpr const char* kNextId = "allowlist/next_id";
constexpr const char* kOperator = "allowlist/operator";
constexpr const char* kAutomatic = "allowlist/automatic";
constexpr const char* kWebProxy = "allowlist/web_proxy";
constexpr const char* kTargets = "status/targets";
constexpr const char* kAudit = "audit/rules/";

// Two cores writing at the same moment: each retry reads what the other wrote. More tries in a
// row than this is not contention but a fault.
constexpr int kMaxAttempts = 10;

std::int64_t decimal(const std::string& where, const state::KeyValue* kv, std::int64_t absent) {
    if (!kv) return absent;
    try {
        std::size_t used = 0;
        const long long value = std::stoll(kv->value, &used);
        if (used == kv->value.size() && value >= 0) return value;
    } catch (const std::exception&) {
    }
    throw StoreError(fmt::format("{}: invalid {} '{}'", where, kv->key, kv->value));
}

std::vector<Rule> rules_from_text(const std::string& where, const state::KeyValue* kv,
                                  Origin origin, std::vector<std::string>* created) {
    std::vector<Rule> rules;
    if (!kv) return rules;
    const json list = json::parse(kv->value, nullptr, false);
    if (!list.is_array()) throw StoreError(fmt::format("{}: invalid {}", where, kv->key));
    for (const auto& item : list) {
        const bool wrapped = origin == Origin::operator_rule;
        if (wrapped && (!item.is_object() || !item.contains("rule")))
            throw StoreError(fmt::format("{}: invalid {}", where, kv->key));
        try {
            Rule rule = rule_from_json(wrapped ? item["rule"] : item, "stored rule");
            rule.origin = origin;
            if (!wrapped) rule.id = 0;
            rules.push_back(std::move(rule));
        } catch (const RuleError& e) {
            throw StoreError(fmt::format("{}: invalid rule in {}: {}", where, kv->key, e.what()));
        }
        if (created) created->push_back(item.value("created_at", ""));
    }
    return rules;
}

std::string operator_text(const std::vector<Rule>& rules, const std::vector<std::string>& created) {
    json list = json::array();
    for (std::size_t i = 0; i < rules.size(); ++i)
        list.push_back({{"rule", rule_to_json(rules[i])}, {"created_at", created[i]}});
    return list.dump();
}

std::string automatic_text(const std::vector<Rule>& rules) {
    json list = json::array();
    for (const auto& rule : rules) list.push_back(rule_to_json(rule));
    return list.dump();
}

}  // namespace

EtcdRuleStore::EtcdRuleStore(state::EtcdOptions options, std::filesystem::path cache_file)
    : client_(std::move(options)), cache_(std::move(cache_file)), random_(std::random_device{}()) {}

EtcdRuleStore::~EtcdRuleStore() = default;

std::string EtcdRuleStore::where() const {
    return fmt::format("{} (prefix {})", state::describe(client_.options()),
                       client_.options().prefix);
}

EtcdRuleStore::Snapshot EtcdRuleStore::read_fresh() {
    const state::Range range = client_.get_prefix(kRules);
    cache_.save(range);
    return snapshot_of(range);
}

EtcdRuleStore::Snapshot EtcdRuleStore::snapshot_of(const state::Range& range) const {
    const std::string at = where();
    Snapshot s;
    s.revision = range.revision;
    const auto* version = range.find(kVersion);
    s.version = static_cast<std::uint64_t>(decimal(at, version, 0));
    s.version_mod = version ? version->mod_revision : 0;
    s.operator_rules =
        rules_from_text(at, range.find(kOperator), Origin::operator_rule, &s.created);
    s.automatic = rules_from_text(at, range.find(kAutomatic), Origin::automatic, nullptr);
    // Ids never go back, even if the counter were lost: above every id in use.
    std::int64_t highest = 0;
    for (const auto& rule : s.operator_rules) highest = std::max(highest, rule.id);
    s.next_id = std::max(decimal(at, range.find(kNextId), 1), highest + 1);
    if (const auto* web_proxy = range.find(kWebProxy))
        s.web_proxy = store::web_proxy_from_text(at, web_proxy->value);
    return s;
}

const EtcdRuleStore::Snapshot& EtcdRuleStore::read() {
    try {
        last_ = read_fresh();
    } catch (const state::Unavailable&) {
        if (last_) return *last_;
        // Started while no member answers: what this node read before it restarted.
        const auto cached = cache_.load();
        if (!cached) throw;  // nothing read ever: nothing to serve
        last_ = snapshot_of(*cached);
    }
    return *last_;
}

Operation EtcdRuleStore::audit_entry(const std::string& who, std::string_view action,
                                     const std::string& detail) {
    const json entry = {{"at", sqlite::now_utc()},
                        {"who", who},
                        {"action", std::string(action)},
                        {"detail", detail}};
    return Operation::put(fmt::format("{}{:016x}{:016x}", kAudit, random_(), random_()),
                          entry.dump());
}

bool EtcdRuleStore::commit(const std::function<void(const Snapshot&, Operations&)>& plan) {
    std::uniform_int_distribution<int> jitter(1, 20);
    for (int attempt = 1;; ++attempt) {
        const Snapshot snapshot = read_fresh();
        Operations ops;
        plan(snapshot, ops);
        if (ops.empty()) return false;
        const auto result =
            client_.txn({Compare::mod_revision_is(kVersion, snapshot.version_mod)}, ops);
        if (result.succeeded) {
            // What this core serves while etcd is gone includes its own last change.
            try {
                last_ = read_fresh();
            } catch (const state::Unavailable&) {
            }
            return true;
        }
        if (attempt == kMaxAttempts)
            throw StoreError(fmt::format(
                "{}: the rules kept changing under this change ({} tries); nothing was changed",
                where(), kMaxAttempts));
        std::this_thread::sleep_for(std::chrono::milliseconds(jitter(random_)));
    }
}

void EtcdRuleStore::bump(const Snapshot& snapshot, Operations& ops) {
    ops.push_back(Operation::put(kVersion, std::to_string(snapshot.version + 1)));
}

RuleSet EtcdRuleStore::rule_set() {
    const Snapshot& s = read();
    RuleSet set;
    set.version = s.version;
    set.cluster = true;
    set.rules = s.automatic;
    set.rules.insert(set.rules.end(), s.operator_rules.begin(), s.operator_rules.end());
    return set;
}

std::vector<Rule> EtcdRuleStore::operator_rules() {
    return read().operator_rules;
}

std::vector<Rule> EtcdRuleStore::automatic_rules() {
    return read().automatic;
}

std::uint64_t EtcdRuleStore::version() {
    return read().version;
}

std::optional<WebProxySettings> EtcdRuleStore::web_proxy() {
    return read().web_proxy;
}

Rule EtcdRuleStore::add(Rule rule, const Actor& actor) {
    rule.origin = Origin::operator_rule;
    store::check_storable(where(), rule);
    commit([&](const Snapshot& s, Operations& ops) {
        for (const auto& existing : s.operator_rules)
            if (store::identity(existing) == store::identity(rule))
                throw DuplicateRule(fmt::format("an identical rule exists: #{}", existing.id),
                                    existing.id);
        rule.id = s.next_id;
        auto rules = s.operator_rules;
        auto created = s.created;
        rules.push_back(rule);
        created.push_back(sqlite::now_utc());
        ops.push_back(Operation::put(kOperator, operator_text(rules, created)));
        ops.push_back(Operation::put(kNextId, std::to_string(rule.id + 1)));
        bump(s, ops);
        ops.push_back(audit_entry(actor.name, "rule added", rule.describe()));
    });
    return rule;
}

bool EtcdRuleStore::remove(std::int64_t id, const Actor& actor) {
    return commit([&](const Snapshot& s, Operations& ops) {
        auto rules = s.operator_rules;
        auto created = s.created;
        const auto it =
            std::find_if(rules.begin(), rules.end(), [&](const Rule& r) { return r.id == id; });
        if (it == rules.end()) return;
        const std::string removed = it->describe();
        created.erase(created.begin() + (it - rules.begin()));
        rules.erase(it);
        ops.push_back(Operation::put(kOperator, operator_text(rules, created)));
        bump(s, ops);
        ops.push_back(audit_entry(actor.name, "rule removed", removed));
    });
}

void EtcdRuleStore::replace_operator_rules(const std::vector<Rule>& wanted, const Actor& actor) {
    for (const auto& rule : wanted) store::check_storable(where(), rule);
    commit([&](const Snapshot& s, Operations& ops) {
        const auto plan = store::plan_replacement(s.operator_rules, wanted);
        std::vector<Rule> rules;
        std::vector<std::string> created;
        for (std::size_t i = 0; i < s.operator_rules.size(); ++i)
            if (std::find(plan.removed_ids.begin(), plan.removed_ids.end(),
                          s.operator_rules[i].id) == plan.removed_ids.end()) {
                rules.push_back(s.operator_rules[i]);
                created.push_back(s.created[i]);
            }
        std::int64_t next_id = s.next_id;
        const std::string now = sqlite::now_utc();
        for (std::size_t i = 0; i < wanted.size(); ++i) {
            if (plan.kept[i]) continue;
            Rule rule = wanted[i];
            rule.origin = Origin::operator_rule;
            for (const auto& other : rules)
                if (store::identity(other) == store::identity(rule))
                    throw StoreError(fmt::format(
                        "{}: rules not imported: rule {} ({}) is identical to another rule of the "
                        "list",
                        where(), i + 1, rule.describe()));
            rule.id = next_id++;
            rules.push_back(std::move(rule));
            created.push_back(now);
        }
        const std::string changes = store::describe_changes(s.operator_rules, rules);
        if (!changes.empty()) {
            ops.push_back(Operation::put(kOperator, operator_text(rules, created)));
            ops.push_back(Operation::put(kNextId, std::to_string(next_id)));
            bump(s, ops);
        }
        // The import itself is audited even when it changed nothing: the operator did it.
        ops.push_back(audit_entry(actor.name, "rules imported",
                                  store::import_detail(s.operator_rules, rules, changes)));
    });
}

bool EtcdRuleStore::set_automatic_rules(const std::vector<Rule>& rules) {
    std::vector<Rule> wanted = rules;
    for (auto& rule : wanted) {
        rule.id = 0;
        rule.origin = Origin::automatic;
        store::check_storable(where(), rule);
    }
    return commit([&](const Snapshot& s, Operations& ops) {
        if (s.automatic == wanted) return;  // every core resolves alike: most rounds write nothing
        ops.push_back(Operation::put(kAutomatic, automatic_text(wanted)));
        bump(s, ops);
        const std::string changes = store::describe_changes(s.automatic, wanted);
        ops.push_back(
            audit_entry("system", "automatic rules", changes.empty() ? "reordered" : changes));
    });
}

void EtcdRuleStore::set_web_proxy(const WebProxySettings& settings, const Actor& actor) {
    store::check_web_proxy(settings);
    commit([&](const Snapshot& s, Operations& ops) {
        ops.push_back(Operation::put(kWebProxy, store::web_proxy_to_text(settings)));
        bump(s, ops);
        ops.push_back(
            audit_entry(actor.name, "web proxy settings", store::web_proxy_detail(settings)));
    });
}

void EtcdRuleStore::set_targets(const std::vector<TargetStatus>& targets) {
    json list = json::array();
    for (std::size_t i = 0; i < targets.size(); ++i) {
        for (std::size_t j = 0; j < i; ++j)
            if (targets[j].uri == targets[i].uri)
                throw StoreError(fmt::format("{}: targets not stored: {} is listed twice", where(),
                                             targets[i].uri));
        list.push_back({{"uri", targets[i].uri},
                        {"targets", store::targets_to_text(targets[i].targets)},
                        {"error", targets[i].error},
                        {"checked_at", targets[i].checked_at}});
    }
    // Status, not a rule change: no version, no audit, the last core to look wins.
    client_.put(kTargets, list.dump());
}

std::vector<TargetStatus> EtcdRuleStore::targets() {
    try {
        const state::Range range = client_.get(kTargets);
        std::vector<TargetStatus> result;
        if (const auto* kv = range.find(kTargets)) {
            const json list = json::parse(kv->value, nullptr, false);
            if (!list.is_array()) throw StoreError(where() + ": invalid stored targets");
            for (const auto& item : list) {
                if (!item.is_object()) throw StoreError(where() + ": invalid stored targets");
                TargetStatus status;
                status.uri = item.value("uri", "");
                status.error = item.value("error", "");
                status.checked_at = item.value("checked_at", "");
                status.targets =
                    store::targets_from_text(where(), status.uri, item.value("targets", ""));
                result.push_back(std::move(status));
            }
        }
        last_targets_ = result;
        return result;
    } catch (const state::Unavailable&) {
        if (!last_targets_) throw;
        return *last_targets_;
    }
}

std::vector<AuditEntry> EtcdRuleStore::audit(std::size_t limit) {
    try {
        const auto range = client_.get_prefix(
            kAudit, {static_cast<std::int64_t>(std::min<std::size_t>(limit, 1'000'000)), true});
        std::vector<AuditEntry> entries;
        for (const auto& kv : range.kvs) {
            const json entry = json::parse(kv.value, nullptr, false);
            if (!entry.is_object()) throw StoreError(where() + ": invalid audit entry " + kv.key);
            entries.push_back({kv.create_revision, entry.value("at", ""), entry.value("who", ""),
                               entry.value("action", ""), entry.value("detail", "")});
        }
        last_audit_ = entries;
        return entries;
    } catch (const state::Unavailable&) {
        if (!last_audit_) throw;
        return *last_audit_;
    }
}

namespace {

class EtcdFollower final : public ChangeFollower {
  public:
    EtcdFollower(const state::EtcdOptions& options, std::int64_t from,
                 std::function<void()> changed, std::function<void(const std::string&)> lost)
        : watch_(options, kRules, from, handlers(std::move(changed), std::move(lost))) {}

  private:
    static state::Watch::Handlers handlers(std::function<void()> changed,
                                           std::function<void(const std::string&)> lost) {
        state::Watch::Handlers h;
        h.events = [changed](const auto&, std::int64_t) { changed(); };
        h.reset = [changed](const state::Range&) { changed(); };
        // (Re)connected: what happened while it was away comes as events, but the first
        // time there may be no read to compare with yet.
        h.connected = changed;
        h.lost = std::move(lost);
        return h;
    }
    state::Watch watch_;
};

}  // namespace

std::unique_ptr<ChangeFollower> EtcdRuleStore::follow(
    std::function<void()> changed, std::function<void(const std::string&)> lost) {
    const std::int64_t from = last_ ? last_->revision + 1 : 0;
    return std::make_unique<EtcdFollower>(client_.options(), from, std::move(changed),
                                          std::move(lost));
}

}  // namespace edgeway::allowlist
