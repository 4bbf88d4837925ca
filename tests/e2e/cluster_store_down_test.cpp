// Cores that start while the whole etcd cluster is down: a core restarted then serves with the
// copy of the rules and accounts it last read (state::RangeCache) and refuses changes with 503
// until etcd is back, a core with no copy gets no request from the edges until it has rules (and a
// backup of it says what it does not hold); the cores of a new cluster, which have no copy, create
// its first admin account once etcd answers, one of them and only once.
#include "tests/e2e/e2e.hpp"
#include "tests/support/cluster_appliance.hpp"

#include <filesystem>

using namespace edgeway::test;

namespace {

constexpr const char* kAccountsUnreadable =
    "cannot read the admin accounts from .*; asking again until the store answers";

// Logs in as "admin" with a password nobody knows: 401 when the store answers, 503 when not.
unsigned login_status(ClusterAppliance& cluster, std::size_t core) {
    try {
        cluster.admin(core);
        return 200;
    } catch (const std::runtime_error& e) {
        const std::string what = e.what();
        INFO(what);
        return what.find(" failed: 503 ") != std::string::npos ? 503u : 0u;
    }
}

}  // namespace

TEST_CASE(
    "cluster: with etcd down, a restarted core serves with the rules and accounts it last read "
    "and a core without them gets no request, changes get 503 and work again once etcd is "
    "back",
    "[e2e][cluster]") {
    ClusterAppliance cluster;
    {
        AdminClient a = cluster.admin(0);
        for (std::size_t e = 0; e < cluster.edge_count(); ++e)
            REQUIRE(a.post_json("/api/v1/rules", cluster.health_rule(e)).status == 201);
    }
    for (std::size_t e = 0; e < cluster.edge_count(); ++e)
        REQUIRE(wait_until(
            [&] { return https_get(cluster.edge_target(e), "/health").status == 200; }, 5s, 5ms));

    auto all_answered = [&] {
        for (std::size_t e = 0; e < cluster.edge_count(); ++e)
            for (int n = 0; n < 5; ++n) {
                const Response answer = https_get(cluster.edge_target(e), "/health");
                INFO("edge " << e << ": " << answer.status << " " << answer.body);
                CHECK(answer.status == 200);
            }
    };
    cluster.etcd().kill_all();
    // Core B comes back as a new core would, without a copy: it has no rules to check requests
    // against, so the edges send it none while core A, which has them, is linked.
    REQUIRE(cluster.stop_core(1) == 0);
    for (const char* copy : {"allowlist-etcd-copy.json", "accounts-etcd-copy.json"})
        REQUIRE(std::filesystem::remove(cluster.app().dir() / "core-b-state" / copy));
    cluster.start_core(1);
    cluster.core(1).require_log("cannot read the allow list from", 5s);
    all_answered();
    CHECK(cluster.core(1).log().count(access_line("/health")) == 0);

    // Core A restarted: it serves with the copy of what it last read.
    REQUIRE(cluster.stop_core(0) == 0);
    cluster.start_core(0);
    cluster.core(0).require_log("the cluster store is unreachable", 5s);
    CHECK(cluster.core(0).log().count("cannot read the allow list") == 0);
    CHECK(cluster.core(0).log().count("cannot read the admin accounts") == 0);
    all_answered();
    CHECK(cluster.core(0).log().count(access_line("/health")) >= 10);
    AdminClient a = cluster.admin(0);
    const json listed = json::parse(a.get("/api/v1/rules").body);
    CHECK(listed["editable"].size() == 2);
    json rule = cluster.health_rule(0);
    rule["path"] = "/after-outage";
    CHECK(a.post_json("/api/v1/rules", rule).status == 503);

    cluster.etcd().restart_all();
    REQUIRE(wait_until([&] { return a.post_json("/api/v1/rules", rule).status == 201; }, 20s));
    const auto version = json::parse(a.get("/api/v1/rules").body)["version"].get<std::uint64_t>();
    cluster.wait_edges_applied(version);
    // Core B has the rules now too, and takes its share again.
    CHECK(wait_until(
        [&] {
            for (int n = 0; n < 4; ++n) https_get(cluster.edge_target(n % 2), "/health");
            return cluster.core(1).log().count(access_line("/health")) > 0;
        },
        10s));

    // A backup of such a core holds its own files and says where the rest is, and how to save it.
    const auto file = cluster.app().dir() / "core-a.backup";
    const RunResult backup =
        run_program(edgeway_binary(),
                    {"backup", "--config", cluster.core_config_file(0).string(), file.string()},
                    cluster.app().dir() / "backup.log");
    INFO(backup.output);
    CHECK(backup.exit_code == 0);
    CHECK_THAT(backup.output, Contains("in etcd at " + cluster.etcd().endpoint(0)) &&
                                  Contains("which this backup does not hold") &&
                                  Contains("etcdctl --endpoints=" + cluster.etcd().endpoint(0) +
                                           "," + cluster.etcd().endpoint(1)));
}

TEST_CASE(
    "cluster: the cores of a new cluster started while etcd is down create the first admin "
    "account once etcd answers, one of them only",
    "[e2e][cluster]") {
    ClusterOptions options;
    options.etcd_down_at_start = true;
    ClusterAppliance cluster(options);
    for (std::size_t i = 0; i < cluster.core_count(); ++i) {
        cluster.core(i).require_log(kAccountsUnreadable, 5s);
        CHECK(login_status(cluster, i) == 503);
    }
    // No rules could be read: the edges refuse everything, they forward nothing.
    for (std::size_t e = 0; e < cluster.edge_count(); ++e)
        CHECK(https_get(cluster.edge_target(e), "/health").status != 200);

    cluster.etcd().restart_all();
    cluster.wait_first_account(20s);
    for (std::size_t i = 0; i < cluster.core_count(); ++i)
        cluster.core(i).require_log("the admin accounts are readable again", 20s);
    std::size_t created = 0;
    for (std::size_t i = 0; i < cluster.core_count(); ++i)
        created += cluster.core(i).log().count("first start: admin account");
    CHECK(created == 1);
    // The one password logs in on both cores; a rule added then opens both edges.
    AdminClient a = cluster.admin(0);
    CHECK_NOTHROW(cluster.admin(1));
    for (std::size_t e = 0; e < cluster.edge_count(); ++e)
        REQUIRE(a.post_json("/api/v1/rules", cluster.health_rule(e)).status == 201);
    for (std::size_t e = 0; e < cluster.edge_count(); ++e)
        CHECK(wait_until([&] { return https_get(cluster.edge_target(e), "/health").status == 200; },
                         5s, 5ms));
}
