// Two cores sharing their state in a real 3-member etcd cluster, each linked to both edges: a
// rule added on one core reaches every edge within a second; a write race through both admin
// APIs ends with one winner per identical rule and nothing lost; losing one etcd member changes
// nothing, losing all of them keeps traffic going and refuses changes with a 503 that names the
// cause, and once etcd is back changes work again and both cores converge.
#include "tests/e2e/e2e.hpp"
#include "tests/support/cluster_appliance.hpp"

#include <atomic>
#include <set>
#include <thread>

using namespace edgeway::test;

namespace {

json body_of(const Response& response) {
    INFO("status " << response.status << " body " << response.body);
    return json::parse(response.body);
}

std::uint64_t version_of(AdminClient& admin) {
    return body_of(admin.get("/api/v1/rules"))["version"].get<std::uint64_t>();
}

// Milliseconds from now until GET /health through the edge is answered 200.
double ms_until_open(const TlsTarget& edge) {
    const auto start = Clock::now();
    REQUIRE(wait_until([&] { return https_get(edge, "/health").status == 200; }, 5s, 5ms));
    return elapsed_ms(start);
}

}  // namespace

TEST_CASE(
    "cluster: a rule added on core A reaches both edges within a second, a two-core write "
    "race leaves one winner per identical rule and loses nothing",
    "[e2e][cluster]") {
    ClusterAppliance cluster;
    AdminClient a = cluster.admin(0);
    AdminClient b = cluster.admin(1);
    for (std::size_t i = 0; i < cluster.edge_count(); ++i)
        REQUIRE(https_get(cluster.edge_target(i), "/health").status == 403);

    for (std::size_t i = 0; i < cluster.edge_count(); ++i) {
        REQUIRE(a.post_json("/api/v1/rules", cluster.health_rule(i)).status == 201);
        const double ms = ms_until_open(cluster.edge_target(i));
        WARN("rule added on core A took effect on edge " << i + 1 << " after " << ms << " ms");
        CHECK(ms < 1000);
    }
    // Core B shows what core A stored, and refuses the same rule again.
    CHECK(body_of(b.get("/api/v1/rules"))["editable"].size() == 2);
    CHECK(b.post_json("/api/v1/rules", cluster.health_rule(0)).status == 409);

    // Four operators at once, two on each core: each tries the same five rules and five of
    // its own.
    constexpr int kSame = 5, kOwn = 5;
    auto path_rule = [](const std::string& path) {
        return json{{"protocol", "https"}, {"host", "race.example.com"},
                    {"port", 443},         {"match", "exact"},
                    {"path", path},        {"methods", {"GET"}}};
    };
    std::atomic<int> created{0}, conflicts{0}, other{0};
    std::vector<std::thread> operators;
    for (int op = 0; op < 4; ++op)
        operators.emplace_back([&, op] {
            AdminClient& client = op % 2 == 0 ? a : b;
            for (int i = 0; i < kSame + kOwn; ++i) {
                const std::string path =
                    i < kSame ? "/same/" + std::to_string(i)
                              : "/own/" + std::to_string(op) + "/" + std::to_string(i);
                const unsigned status = client.post_json("/api/v1/rules", path_rule(path)).status;
                (status == 201 ? created : status == 409 ? conflicts : other)++;
            }
        });
    for (auto& t : operators) t.join();
    CHECK(other == 0);
    CHECK(created == kSame + 4 * kOwn);
    CHECK(conflicts == 3 * kSame);

    const json listed = body_of(a.get("/api/v1/rules"));
    std::set<std::string> paths;
    std::set<std::int64_t> ids;
    for (const auto& rule : listed["editable"]) {
        paths.insert(rule["host"].get<std::string>() + ":" + rule["port"].dump() +
                     rule["path"].get<std::string>());
        ids.insert(rule["id"].get<std::int64_t>());
    }
    CHECK(listed["editable"].size() == 2 + kSame + 4 * kOwn);
    CHECK(paths.size() == listed["editable"].size());  // no duplicate
    CHECK(ids.size() == listed["editable"].size());
    // Both cores and both edges end on the same version.
    const auto version = listed["version"].get<std::uint64_t>();
    CHECK(version_of(b) == version);
    cluster.wait_edges_applied(version);
}

TEST_CASE(
    "cluster: one etcd member down changes nothing, all down keeps traffic and refuses "
    "changes with 503, with etcd back changes work and both cores converge",
    "[e2e][cluster]") {
    ClusterAppliance cluster;
    AdminClient a = cluster.admin(0);
    AdminClient b = cluster.admin(1);
    REQUIRE(a.post_json("/api/v1/rules", cluster.health_rule(0)).status == 201);
    ms_until_open(cluster.edge_target(0));

    // One member gone: changes and their propagation go on as before.
    cluster.etcd().kill(0);
    REQUIRE(b.post_json("/api/v1/rules", cluster.health_rule(1)).status == 201);
    CHECK(ms_until_open(cluster.edge_target(1)) < 1000);

    // All gone: traffic goes on with the rules the cores have; changes are refused by name.
    const auto version = version_of(a);
    cluster.etcd().kill_all();
    for (std::size_t i = 0; i < cluster.edge_count(); ++i)
        CHECK(https_get(cluster.edge_target(i), "/health").status == 200);
    json rule = cluster.health_rule(0);
    rule["path"] = "/during-outage";
    const Response refused = a.post_json("/api/v1/rules", rule);
    CHECK(refused.status == 503);
    const std::string expected = "The cluster store is unreachable (etcd at " +
                                 cluster.etcd().endpoint(0) + ", " + cluster.etcd().endpoint(1) +
                                 ", " + cluster.etcd().endpoint(2) +
                                 ": connection refused); nothing was changed.";
    CHECK(body_of(refused)["error"] == expected);
    CHECK(b.request(http::verb::delete_, "/api/v1/rules/1").status == 503);
    CHECK(b.post_json("/api/v1/accounts", {{"name", "carol"}, {"password", "long enough pw"}})
              .status == 503);
    // Reads and logins go on with what the core last read.
    CHECK(version_of(b) == version);
    CHECK_NOTHROW(cluster.admin(1));
    // The command line says the same and exits 1.
    const RunResult cli = run_program(
        edgeway_binary(),
        {"allowlist", "--config", cluster.core_config_file(0).string(), "add", "--protocol",
         "https", "--host", "localhost", "--path", "/cli", "--methods", "GET"},
        cluster.app().dir() / "cli.log");
    CHECK(cli.exit_code == 1);
    CHECK_THAT(cli.output,
               Contains("edgeway allowlist: the cluster store is unreachable (etcd at " +
                        cluster.etcd().endpoint(0)) &&
                   Contains("connection refused); nothing was changed"));
    cluster.core(0).require_log("the cluster store is unreachable", 10s);

    // Back: changes work again, both cores follow (their watches resume) and so do the edges.
    cluster.etcd().restart_all();
    const Response added = a.post_json("/api/v1/rules", rule);
    CHECK(added.status == 201);
    const auto after = version_of(a);
    CHECK(after == version + 1);
    REQUIRE(wait_until([&] { return version_of(b) == after; }, 5s));
    cluster.wait_edges_applied(after);
    cluster.core(1).require_log("the cluster store answers again", 10s);
    CHECK(body_of(b.get("/api/v1/rules"))["editable"].size() == 3);
}
