// The cluster status (GET /api/v1/status/cluster): with etcd, both cores of the cluster with
// their links to both edges and the store's members; a killed etcd member shown unhealthy while
// the store stays healthy; a core stopped cleanly gone from the other's view at once (its lease
// revoked). With SQLite, a cluster of one core; an edge has no cluster view.
#include "tests/e2e/e2e.hpp"
#include "tests/support/admin_appliance.hpp"
#include "tests/support/cluster_appliance.hpp"

using namespace edgeway::test;

namespace {

json cluster_of(AdminClient& admin) {
    const Response response = admin.get("/api/v1/status/cluster");
    INFO("status " << response.status << " body " << response.body);
    REQUIRE(response.status == 200);
    return json::parse(response.body);
}

// Polls the view until `accept` takes it; fails the test with the last view otherwise.
json wait_view(AdminClient& admin, const std::function<bool(const json&)>& accept, Millis timeout) {
    json last;
    const bool seen = wait_until(
        [&] {
            last = cluster_of(admin);
            return accept(last);
        },
        timeout, 50ms);
    INFO("last view: " << last.dump(2));
    REQUIRE(seen);
    return last;
}

std::size_t links_up(const json& view) {
    std::size_t up = 0;
    for (const auto& cell : view["links"])
        up += cell["state"] == "up" && cell["links_up"] == cell["links"];
    return up;
}

bool healthy_members(const json& view, std::size_t count) {
    std::size_t healthy = 0;
    for (const auto& member : view["store"]["endpoints"]) healthy += member["healthy"] == true;
    return view["store"]["endpoints"].size() == 3 && healthy == count;
}

}  // namespace

TEST_CASE(
    "cluster status: both cores with all four links up, a killed etcd member unhealthy, a core "
    "stopped cleanly gone at once",
    "[e2e][cluster]") {
    ClusterAppliance cluster;
    AdminClient a = cluster.admin(0);

    json view = wait_view(
        a,
        [](const json& v) {
            return v["cores"].size() == 2 && links_up(v) == 4 && healthy_members(v, 3);
        },
        10s);
    CHECK(view["store"]["backend"] == "etcd");
    CHECK(view["store"]["healthy"] == true);
    CHECK(view["store"]["revision"].get<std::int64_t>() > 0);
    int leaders = 0;
    for (const auto& member : view["store"]["endpoints"]) leaders += member["leader"] == true;
    CHECK(leaders == 1);
    const json& self = view["cores"][0];
    CHECK(self["self"] == true);
    CHECK(view["cores"][1]["self"] == false);
    CHECK(self["state"] == "serving");
    CHECK_THAT(self["admin_url"].get<std::string>(), StartsWith("https://127.0.0.1:"));
    CHECK_FALSE(self["version"].get<std::string>().empty());
    const std::string b_id = view["cores"][1]["id"];
    CHECK(b_id != self["id"]);
    REQUIRE(view["edges"].size() == 2);
    for (const auto& edge : view["edges"]) CHECK(edge["cores_up"].size() == 2);

    // One etcd member killed (a follower, so no election): shown so, the store still healthy.
    std::size_t follower = 0;
    while (view["store"]["endpoints"][follower]["leader"] == true) ++follower;
    cluster.etcd().kill(follower);
    view = wait_view(
        a, [](const json& v) { return healthy_members(v, 2); }, 5s);
    const json& killed = view["store"]["endpoints"][follower];
    CHECK(killed["url"] == cluster.etcd().endpoint(follower));
    CHECK(killed["error"] == "connection refused");
    CHECK(view["store"]["healthy"] == true);
    CHECK(view["cores"].size() == 2);

    // Core B stopped cleanly: its record goes with its lease, well before the lease's 10 s.
    const auto stopping = Clock::now();
    REQUIRE(cluster.core(1).terminate() == 0);
    view = wait_view(
        a, [](const json& v) { return v["cores"].size() == 1; }, 3s);
    WARN("core B left core A's view " << elapsed_ms(stopping) << " ms after its SIGTERM");
    CHECK(view["cores"][0]["self"] == true);
    for (const auto& edge : view["edges"])
        CHECK(edge["cores_up"] == json::array({view["cores"][0]["id"]}));
}

TEST_CASE("cluster status: with SQLite a cluster of one core, and none on an edge",
          "[e2e][cluster]") {
    AdminApplianceOptions options;
    options.edge_admin = true;
    AdminAppliance admin(options);
    AdminClient core = admin.core_admin();

    const json view = wait_view(
        core, [](const json& v) { return links_up(v) == 1; }, 5s);
    CHECK(view["store"]["backend"] == "sqlite");
    CHECK(view["store"]["healthy"] == true);
    CHECK(view["store"]["endpoints"].empty());
    REQUIRE(view["cores"].size() == 1);
    CHECK(view["cores"][0]["self"] == true);
    REQUIRE(view["edges"].size() == 1);
    CHECK(view["edges"][0]["address"] == view["links"][0]["edge"]);
    CHECK(view["edges"][0]["cores_up"] == json::array({view["cores"][0]["id"]}));
    CHECK(json::parse(core.get("/api/v1/node").body)["features"]["cluster"] == true);

    AdminClient edge = admin.edge_admin();
    const Response on_edge = edge.get("/api/v1/status/cluster");
    CHECK(on_edge.status == 404);
    CHECK_THAT(on_edge.body, Contains("links page shows the cores"));
    CHECK(json::parse(edge.get("/api/v1/node").body)["features"]["cluster"] == false);
}
