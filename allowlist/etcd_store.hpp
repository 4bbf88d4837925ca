// The etcd implementation of RuleStorage (see etcd_store.cpp for the key layout). Private to
// allowlist/; open_rule_storage makes one.
#pragma once

#include "allowlist/allowlist.hpp"

#include <functional>
#include <optional>
#include <random>
#include <string_view>

namespace edgeway::allowlist {

class EtcdRuleStore final : public RuleStorage {
  public:
    // cache_file: where the rules last read are copied (a state::RangeCache; empty: nowhere).
    EtcdRuleStore(state::EtcdOptions options, std::filesystem::path cache_file);
    ~EtcdRuleStore() override;

    RuleSet rule_set() override;
    std::vector<Rule> operator_rules() override;
    std::vector<Rule> automatic_rules() override;
    std::uint64_t version() override;
    Rule add(Rule rule, const Actor& actor) override;
    bool remove(std::int64_t id, const Actor& actor) override;
    void replace_operator_rules(const std::vector<Rule>& rules, const Actor& actor) override;
    bool set_automatic_rules(const std::vector<Rule>& rules) override;
    void set_targets(const std::vector<TargetStatus>& targets) override;
    std::vector<TargetStatus> targets() override;
    std::optional<WebProxySettings> web_proxy() override;
    void set_web_proxy(const WebProxySettings& settings, const Actor& actor) override;
    std::vector<AuditEntry> audit(std::size_t limit = 100) override;
    std::unique_ptr<ChangeFollower> follow(
        std::function<void()> changed,
        std::function<void(const std::string& problem)> lost) override;
    std::string where() const override;

  private:
    // Everything under allowlist/ at one revision.
    struct Snapshot {
        std::int64_t revision = 0;
        std::uint64_t version = 0;
        std::int64_t version_mod = 0;  // mod_revision of allowlist/version (0: never written)
        std::int64_t next_id = 1;
        std::vector<Rule> operator_rules;
        std::vector<std::string> created;  // per operator rule
        std::vector<Rule> automatic;
        std::optional<WebProxySettings> web_proxy;
    };
    using Operations = std::vector<state::Operation>;

    Snapshot read_fresh();
    Snapshot snapshot_of(const state::Range& range) const;
    // The fresh snapshot, or the last one read when no member answers: in this process, else
    // the cached copy (none: throws).
    const Snapshot& read();
    // Reads, lets `plan` decide the operations (none: nothing to do), and commits them if
    // allowlist/version is still as read; else again. True when something was written.
    bool commit(const std::function<void(const Snapshot&, Operations&)>& plan);
    static void bump(const Snapshot& snapshot, Operations& ops);
    state::Operation audit_entry(const std::string& who, std::string_view action,
                                 const std::string& detail);

    state::Client client_;
    state::RangeCache cache_;
    std::mt19937_64 random_;
    std::optional<Snapshot> last_;
    std::optional<std::vector<TargetStatus>> last_targets_;
    std::optional<std::vector<AuditEntry>> last_audit_;
};

}  // namespace edgeway::allowlist
