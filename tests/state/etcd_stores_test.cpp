// The etcd implementations of the stores against a real 3-member cluster: the rules (ids,
// versions, audit, import, web proxy, targets), a two-writer race that ends with one winner per
// identical rule and nothing lost, following changes, serving the last read when etcd is gone;
// the admin accounts; the TURN credentials.
#include "admin/account_store.hpp"
#include "allowlist/allowlist.hpp"
#include "turn/credential_store.hpp"

#include "tests/support/etcd_cluster.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

using namespace edgeway;
using namespace edgeway::test;
using namespace edgeway::allowlist;
using Catch::Contains;

namespace {

state::Config etcd_config(const EtcdCluster& cluster, std::string prefix = "/edgeway/") {
    state::Config config;
    config.backend = state::Backend::etcd;
    config.etcd.endpoints = cluster.endpoints();
    config.etcd.prefix = std::move(prefix);
    config.etcd.timeout = 2000ms;
    return config;
}

Rule rule(std::string host, std::string path, std::string description = "") {
    Rule r;
    r.description = std::move(description);
    r.host = std::move(host);
    r.path = std::move(path);
    r.methods = method_bit(Method::GET);
    return r;
}

const Actor kAlice{"admin:alice from 192.0.2.7"};

}  // namespace

TEST_CASE("etcd rules: ids, versions, duplicates, import, web proxy, targets and audit",
          "[state][store]") {
    TempDir dir("edgeway-state");
    EtcdCluster cluster(dir.path());
    auto store = open_rule_storage(etcd_config(cluster), dir / "unused.db");
    CHECK(store->version() == 0);
    CHECK(store->rule_set().cluster);
    CHECK_FALSE(std::filesystem::exists(dir / "unused.db"));

    const Rule a = store->add(rule("a.example.com", "/api/", "A"), kAlice);
    const Rule b = store->add(rule("b.example.com", "/"), kAlice);
    CHECK(a.id == 1);
    CHECK(b.id == 2);
    CHECK(store->version() == 2);
    CHECK_THROWS_AS(store->add(rule("a.example.com", "/api/", "same, other words"), kAlice),
                    DuplicateRule);
    CHECK(store->remove(2, kAlice));
    CHECK_FALSE(store->remove(2, kAlice));
    CHECK(store->add(rule("c.example.com", "/"), kAlice).id == 3);  // 2 is never handed out again

    // An import keeps the ids of rules it leaves as they are.
    store->replace_operator_rules({rule("a.example.com", "/api/", "A"), rule("d.example.com", "/")},
                                  kAlice);
    const auto rules = store->operator_rules();
    REQUIRE(rules.size() == 2);
    CHECK(rules[0].id == 1);
    CHECK(rules[1].id == 4);
    CHECK_THROWS_WITH(
        store->replace_operator_rules(
            {rule("e.example.com", "/"), rule("e.example.com", "/", "twice")}, kAlice),
        Contains("rules not imported: rule 2"));
    CHECK(store->operator_rules() == rules);

    Rule automatic = rule("join.example.com", "/", "Meeting Server web bridges");
    automatic.origin = Origin::automatic;
    const auto before = store->version();
    CHECK(store->set_automatic_rules({automatic}));
    CHECK_FALSE(store->set_automatic_rules({automatic}));
    CHECK(store->version() == before + 1);
    CHECK(store->rule_set().rules.front() == automatic);

    CHECK_FALSE(store->web_proxy());
    WebProxySettings settings{false, {"https://join.example.com/"}};
    store->set_web_proxy(settings, kAlice);
    CHECK(store->web_proxy() == settings);
    CHECK_THROWS_AS(store->set_web_proxy({true, {"ftp://x/"}}, kAlice), RuleError);

    store->set_targets({{"https://join.example.com/",
                         {{"join.example.com", "10.0.0.1"}},
                         "",
                         "2026-11-25T10:41:03Z"}});
    REQUIRE(store->targets().size() == 1);
    CHECK(store->targets()[0].targets[0].address == "10.0.0.1");

    const auto audit = store->audit(3);
    REQUIRE(audit.size() == 3);
    CHECK(audit[0].action == "web proxy settings");
    CHECK(audit[1].action == "automatic rules");
    CHECK(audit[1].who == "system");
    CHECK(audit[2].action == "rules imported");
    CHECK(audit[0].id > audit[1].id);
    CHECK(store->audit().size() == 7);  // the refused import and duplicate left nothing
}

TEST_CASE("etcd rules: two cores racing end with one winner per identical rule, nothing lost",
          "[state][store]") {
    TempDir dir("edgeway-state");
    EtcdCluster cluster(dir.path());
    constexpr int kEach = 15;
    std::atomic<int> same_won{0}, same_refused{0};
    auto writer = [&](int core) {
        auto store = open_rule_storage(etcd_config(cluster), dir / "unused.db");
        for (int i = 0; i < kEach; ++i) {
            // Every round both cores add the same rule, and each one of its own.
            try {
                store->add(rule("same" + std::to_string(i) + ".example.com", "/"),
                           {"core" + std::to_string(core)});
                ++same_won;
            } catch (const DuplicateRule&) {
                ++same_refused;
            }
            store->add(
                rule("core" + std::to_string(core) + "-" + std::to_string(i) + ".example.com", "/"),
                {"core" + std::to_string(core)});
        }
    };
    std::thread first(writer, 1), second(writer, 2);
    first.join();
    second.join();

    CHECK(same_won == kEach);
    CHECK(same_refused == kEach);
    auto store = open_rule_storage(etcd_config(cluster), dir / "unused.db");
    const auto rules = store->operator_rules();
    CHECK(rules.size() == 3 * kEach);
    std::set<std::string> hosts;
    std::set<std::int64_t> ids;
    for (const auto& r : rules) {
        hosts.insert(r.host);
        ids.insert(r.id);
    }
    CHECK(hosts.size() == rules.size());  // no duplicate
    CHECK(ids.size() == rules.size());
    CHECK(hosts.count("core1-" + std::to_string(kEach - 1) + ".example.com"));
    CHECK(hosts.count("core2-0.example.com"));
    CHECK(store->version() == 3 * kEach);  // one version per change, none skipped or doubled
    CHECK(store->audit(1000).size() == 3 * kEach);
}

TEST_CASE("etcd rules: changes are followed, and with etcd gone reads give the last state",
          "[state][store]") {
    TempDir dir("edgeway-state");
    EtcdCluster cluster(dir.path());
    auto core = open_rule_storage(etcd_config(cluster), dir / "unused.db");
    auto other = open_rule_storage(etcd_config(cluster), dir / "unused.db");
    CHECK(core->version() == 0);
    std::atomic<int> changes{0};
    std::atomic<int> lost{0};
    auto follower = core->follow([&] { ++changes; }, [&](const std::string&) { ++lost; });
    REQUIRE(wait_until([&] { return changes > 0; }, 5s));  // connected

    // Latency of a write seen by the other store's watch.
    std::vector<double> latencies;
    for (int i = 0; i < 10; ++i) {
        const int seen = changes;
        const auto start = Clock::now();
        other->add(rule("h" + std::to_string(i) + ".example.com", "/"), kAlice);
        REQUIRE(wait_until([&] { return changes > seen; }, 5s, 1ms));
        latencies.push_back(elapsed_ms(start));
    }
    std::sort(latencies.begin(), latencies.end());
    WARN("etcd txn + watch delivery, median of 10: " << latencies[5] << " ms");
    CHECK(latencies[5] < 200);
    CHECK(core->version() == 10);

    cluster.kill_all();
    REQUIRE(wait_until([&] { return lost > 0; }, 10s));
    CHECK(core->version() == 10);  // the last read
    CHECK(core->operator_rules().size() == 10);
    try {
        core->add(rule("x.example.com", "/"), kAlice);
        FAIL("a write with etcd down succeeded");
    } catch (const state::Unavailable& e) {
        CHECK_THAT(e.what(), Contains("connection refused"));
    }

    cluster.restart_all();
    const int before = changes;
    other->add(rule("after.example.com", "/"), kAlice);
    REQUIRE(wait_until([&] { return changes > before; }, 10s));
    CHECK(core->version() == 11);
}

TEST_CASE("etcd accounts: one first account for the cluster, the last one kept, logins cached",
          "[state][store]") {
    TempDir dir("edgeway-state");
    EtcdCluster cluster(dir.path());
    auto a = admin::open_account_storage(etcd_config(cluster), dir / "a" / "admin.db");
    auto b = admin::open_account_storage(etcd_config(cluster), dir / "b" / "admin.db");
    CHECK(a->empty());
    CHECK(a->create_first("admin", "scrypt$first"));
    CHECK_FALSE(b->create_first("admin", "scrypt$second"));
    CHECK(b->password_hash("admin") == "scrypt$first");
    CHECK_THROWS_AS(b->set_password_hash("bob", "plain"), admin::AccountError);
    b->set_password_hash("bob", "scrypt$bob");
    CHECK(a->list().size() == 2);
    CHECK(a->remove("admin") == admin::AccountStorage::RemoveResult::removed);
    CHECK(b->remove("bob") == admin::AccountStorage::RemoveResult::last_account);
    CHECK(b->remove("nobody") == admin::AccountStorage::RemoveResult::no_such_account);

    // Settings are the node's own.
    a->set_setting("admin.listen", "127.0.0.1:1445");
    CHECK_FALSE(b->setting("admin.listen"));

    a->audit({0, "", "admin:alice", "192.0.2.7", "account added", "bob"});
    REQUIRE(b->audit_log(10).size() == 1);
    CHECK(b->audit_log(10)[0].client == "192.0.2.7");

    CHECK(a->password_hash("bob") == "scrypt$bob");
    cluster.kill_all();
    CHECK(a->password_hash("bob") == "scrypt$bob");  // the last read: logins go on
    CHECK_THROWS_AS(a->check_writable(), state::Unavailable);
    CHECK_THROWS_AS(a->set_password_hash("bob", "scrypt$new"), state::Unavailable);
}

TEST_CASE("etcd TURN credentials: keys, users and the REST secret", "[state][store]") {
    TempDir dir("edgeway-state");
    EtcdCluster cluster(dir.path());
    auto store = turn::open_credential_storage(etcd_config(cluster), dir / "turn.db");
    store->set_user("cmsturn", "TANDBERG", "s3cret");
    store->set_user("other", "TANDBERG", "x");
    const auto key = store->find("cmsturn");
    REQUIRE(key);
    CHECK(key->realm == "TANDBERG");
    CHECK(key->key == turn::stun::long_term_key("cmsturn", "TANDBERG", "s3cret"));
    store->set_user("cmsturn", "TANDBERG", "changed");
    CHECK(store->find("cmsturn")->key ==
          turn::stun::long_term_key("cmsturn", "TANDBERG", "changed"));
    CHECK(store->users().size() == 2);
    CHECK(store->remove_user("other"));
    CHECK_FALSE(store->remove_user("other"));
    CHECK_FALSE(store->find("other"));
    CHECK_FALSE(store->shared_secret());
    store->set_shared_secret("restsecret");
    CHECK(store->shared_secret() == "restsecret");
    store->set_shared_secret(std::nullopt);
    CHECK_FALSE(store->shared_secret());
    CHECK_THAT(store->where(), Contains(cluster.endpoint(0)));
}
