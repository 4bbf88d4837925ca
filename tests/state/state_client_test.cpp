// The etcd client and watch against a real 3-member cluster on loopback: reads, writes and
// revision-checked transactions, fail-over past a killed member, Unavailable naming every
// member and its cause when none answers, and a watch that survives members going away and
// a compacted revision.
#include "state/state.hpp"

#include "tests/support/etcd_cluster.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>

#include <mutex>

using namespace edgeway;
using namespace edgeway::test;
using Catch::Contains;
using Catch::StartsWith;

namespace {

state::EtcdOptions options_for(const EtcdCluster& cluster, std::string prefix = "/test/") {
    state::EtcdOptions options;
    options.endpoints = cluster.endpoints();
    options.prefix = std::move(prefix);
    options.timeout = 2000ms;
    return options;
}

// What a watch delivered, for the test thread to wait on.
struct Seen {
    std::mutex mutex;
    std::vector<std::string> puts;  // "key=value" in the order delivered
    int resets = 0, connects = 0;
    std::vector<std::string> lost;

    state::Watch::Handlers handlers() {
        state::Watch::Handlers h;
        h.events = [this](const std::vector<state::WatchEvent>& events, std::int64_t) {
            std::lock_guard lock(mutex);
            for (const auto& e : events)
                puts.push_back(e.kv.key + (e.type == state::WatchEvent::Type::put
                                               ? "=" + e.kv.value
                                               : std::string(" erased")));
        };
        h.reset = [this](const state::Range&) {
            std::lock_guard lock(mutex);
            ++resets;
        };
        h.connected = [this] {
            std::lock_guard lock(mutex);
            ++connects;
        };
        h.lost = [this](const std::string& problem) {
            std::lock_guard lock(mutex);
            lost.push_back(problem);
        };
        return h;
    }
    std::size_t count() {
        std::lock_guard lock(mutex);
        return puts.size();
    }
};

}  // namespace

TEST_CASE("etcd client: ranges, puts, erases and revision-checked transactions", "[state]") {
    TempDir dir("edgeway-state");
    EtcdCluster cluster(dir.path());
    state::Client client(options_for(cluster));

    CHECK(client.get("a").kvs.empty());
    const auto first = client.put("a", std::string("one\0two", 7));
    const auto read = client.get("a");
    REQUIRE(read.kvs.size() == 1);
    CHECK(read.kvs[0].key == "a");  // the prefix is the client's business
    CHECK(read.kvs[0].value == std::string("one\0two", 7));
    CHECK(read.kvs[0].mod_revision == first);
    CHECK(read.kvs[0].version == 1);

    client.put("dir/x", "1");
    client.put("dir/y", "2");
    client.put("dirt", "not under dir/");
    const auto listed = client.get_prefix("dir/");
    REQUIRE(listed.kvs.size() == 2);
    CHECK(listed.kvs[0].key == "dir/x");
    CHECK(listed.kvs[1].key == "dir/y");
    CHECK(listed.find("dir/y")->value == "2");
    CHECK(listed.revision >= first);
    const auto newest = client.get_prefix("dir/", {1, true});
    REQUIRE(newest.kvs.size() == 1);
    CHECK(newest.kvs[0].key == "dir/y");

    // A transaction on a stale revision fails and runs its failure branch instead.
    using state::Compare;
    using state::Operation;
    const auto stale = client.txn({Compare::mod_revision_is("a", first - 1)},
                                  {Operation::put("a", "lost")}, {Operation::put("b", "failed")});
    CHECK_FALSE(stale.succeeded);
    CHECK(client.get("a").kvs[0].value == std::string("one\0two", 7));
    CHECK(client.get("b").kvs[0].value == "failed");
    const auto fresh = client.txn({Compare::mod_revision_is("a", first)},
                                  {Operation::put("a", "won"), Operation::erase("b")});
    CHECK(fresh.succeeded);
    CHECK(client.get("a").kvs[0].mod_revision == fresh.revision);
    CHECK(client.get("b").kvs.empty());

    // Other comparisons: value, version, create_revision, a whole prefix.
    CHECK(client.txn({{"a", false, Compare::Target::value, Compare::Result::equal, 0, "won"}}, {})
              .succeeded);
    CHECK_FALSE(
        client.txn({{"a", false, Compare::Target::version, Compare::Result::greater, 5, ""}}, {})
            .succeeded);
    CHECK(client
              .txn({{"missing", false, Compare::Target::create_revision, Compare::Result::equal, 0,
                     ""}},
                   {})
              .succeeded);
    CHECK_FALSE(client.txn({Compare::none_under("dir/")}, {}).succeeded);
    CHECK(client.txn({Compare::none_under("nothing/")}, {}).succeeded);

    CHECK(client.erase("a"));
    CHECK_FALSE(client.erase("a"));
}

TEST_CASE("etcd client: a killed member is passed over, none left is Unavailable naming them",
          "[state]") {
    TempDir dir("edgeway-state");
    EtcdCluster cluster(dir.path());
    state::Client client(options_for(cluster));
    client.put("k", "0");

    cluster.kill(0);  // the member the client asks first
    CHECK(client.put("k", "1") > 0);
    CHECK(client.get("k").kvs.at(0).value == "1");

    cluster.kill_all();
    const auto started = Clock::now();
    try {
        client.put("k", "2");
        FAIL("a write with every member down succeeded");
    } catch (const state::Unavailable& e) {
        const std::string expected = "the cluster store is unreachable (etcd at " +
                                     cluster.endpoint(0) + ", " + cluster.endpoint(1) + ", " +
                                     cluster.endpoint(2) + ": connection refused)";
        CHECK(std::string(e.what()) == expected);
    }
    CHECK(elapsed_ms(started) < 1000);  // refused connections are not waited for
    CHECK_THROWS_AS(client.get("k"), state::Unavailable);

    cluster.restart_all();
    CHECK(client.put("k", "3") > 0);
    CHECK(client.get("k").kvs.at(0).value == "3");
}

TEST_CASE("etcd client: a member without quorum answers no leader, reported as Unavailable",
          "[state]") {
    TempDir dir("edgeway-state");
    EtcdCluster cluster(dir.path());
    state::EtcdOptions options = options_for(cluster);
    options.timeout = 1000ms;
    state::Client client(options);
    cluster.kill(1);
    cluster.kill(2);
    // Until its leader lease runs out the member left holds requests; then it says so at once.
    REQUIRE(wait_until([&] { return !cluster.healthy(0); }, 10s));
    try {
        client.put("k", "v");
        FAIL("a write without quorum succeeded");
    } catch (const state::Unavailable& e) {
        CHECK_THAT(e.what(), Contains(cluster.endpoint(0) + ": etcdserver: no leader"));
        CHECK_THAT(e.what(), Contains(cluster.endpoint(1) + ", " + cluster.endpoint(2) +
                                      ": connection refused"));
    }
}

TEST_CASE("etcd client: endpoints that are not http(s) URLs are refused", "[state]") {
    state::EtcdOptions options;
    CHECK_THROWS_WITH(state::Client(options), "no etcd endpoint configured");
    options.endpoints = {"127.0.0.1:2379"};
    CHECK_THROWS_WITH(state::Client(options),
                      StartsWith("etcd endpoint 127.0.0.1:2379: expected http://HOST:PORT"));
}

TEST_CASE("etcd watch: changes in order, across killed members, and after a compaction",
          "[state]") {
    TempDir dir("edgeway-state");
    EtcdCluster cluster(dir.path());
    state::Client client(options_for(cluster));
    const auto start = client.put("w/0", "before");  // delivered: the watch starts there
    client.put("other", "not watched");

    Seen seen;
    state::Watch watch(options_for(cluster), "w/", start, seen.handlers());
    REQUIRE(wait_until([&] { return seen.count() == 1; }, 10s));
    client.put("w/1", "a");
    client.erase("w/0");
    REQUIRE(wait_until([&] { return seen.count() == 3; }, 5s));
    {
        std::lock_guard lock(seen.mutex);
        CHECK(seen.puts == std::vector<std::string>{"w/0=before", "w/1=a", "w/0 erased"});
    }

    // Whichever member it watched on, it goes on from the next one; nothing lost or repeated.
    cluster.kill(0);
    client.put("w/2", "b");
    cluster.kill(1);
    cluster.restart(0);
    client.put("w/3", "c");
    REQUIRE(wait_until([&] { return seen.count() == 5; }, 10s));
    {
        std::lock_guard lock(seen.mutex);
        CHECK(seen.puts[3] == "w/2=b");
        CHECK(seen.puts[4] == "w/3=c");
    }
    cluster.restart(1);

    // Every member down: reported once; back: it resumes with what was written meanwhile.
    cluster.kill_all();
    REQUIRE(wait_until(
        [&] {
            std::lock_guard lock(seen.mutex);
            return !seen.lost.empty();
        },
        10s));
    cluster.restart_all();
    client.put("w/4", "d");
    REQUIRE(wait_until([&] { return seen.count() == 6; }, 10s));
    {
        std::lock_guard lock(seen.mutex);
        CHECK_THAT(seen.lost.front(), Contains("etcd at "));
        CHECK(seen.puts.back() == "w/4=d");
    }
}

TEST_CASE("etcd watch: a compacted start revision means a full re-read", "[state]") {
    TempDir dir("edgeway-state");
    EtcdCluster cluster(dir.path());
    state::Client client(options_for(cluster));
    const auto old = client.put("w/a", "1");
    const auto now = client.put("w/a", "2");
    const RunResult compact = run_program(
        "/usr/bin/etcdctl", {"--endpoints", cluster.endpoint(0), "compact", std::to_string(now)},
        dir / "etcdctl.log", 10s);
    REQUIRE(compact.exit_code == 0);

    Seen seen;
    state::Watch watch(options_for(cluster), "w/", old, seen.handlers());
    REQUIRE(wait_until(
        [&] {
            std::lock_guard lock(seen.mutex);
            return seen.resets == 1;
        },
        10s));
    client.put("w/b", "3");
    REQUIRE(wait_until([&] { return seen.count() == 1; }, 5s));
    std::lock_guard lock(seen.mutex);
    CHECK(seen.puts == std::vector<std::string>{"w/b=3"});
}

TEST_CASE("etcd client: a key put with a lease goes when the lease is revoked", "[state][lease]") {
    TempDir dir("edgeway-state");
    EtcdCluster cluster(dir.path());
    state::Client client(options_for(cluster));

    const auto lease = client.grant_lease(10s);
    client.put("members/a", "here", lease);
    client.put("members/b", "no lease");
    CHECK(client.keep_alive(lease));
    CHECK(client.get("members/a").kvs.size() == 1);

    client.revoke_lease(lease);
    CHECK(client.get("members/a").kvs.empty());
    CHECK(client.get("members/b").kvs.size() == 1);
    CHECK_FALSE(client.keep_alive(lease));
    CHECK_NOTHROW(client.revoke_lease(lease));  // gone already
    // A put on a lease that is gone is refused, not stored without it.
    CHECK_THROWS_WITH(client.put("members/c", "late", lease), Contains("lease not found"));
}

TEST_CASE("etcd member status: one leader, a killed member reported with its cause",
          "[state][lease]") {
    TempDir dir("edgeway-state");
    EtcdCluster cluster(dir.path());
    const auto options = options_for(cluster);

    auto members = state::member_status(options);
    REQUIRE(members.size() == 3);
    int leaders = 0;
    for (std::size_t i = 0; i < members.size(); ++i) {
        INFO(members[i].url << ": " << members[i].error);
        CHECK(members[i].url == cluster.endpoint(i));
        CHECK(members[i].healthy);
        CHECK(members[i].revision > 0);
        CHECK_FALSE(members[i].version.empty());
        leaders += members[i].leader;
    }
    CHECK(leaders == 1);

    // A follower, so that the others keep their leader.
    const std::size_t killed = members[0].leader ? 1 : 0;
    cluster.kill(killed);
    members = state::member_status(options);
    for (std::size_t i = 0; i < members.size(); ++i) {
        INFO(members[i].url << ": " << members[i].error);
        CHECK(members[i].healthy == (i != killed));
    }
    CHECK(members[killed].error == "connection refused");
}
