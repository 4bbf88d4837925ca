// The TURN relay as the edge process runs it: users managed in the edge's admin API and with
// `edgeway turn`, coturn's client relaying through the edge to a peer while the admin's relay
// status and /metrics show the allocation, and a wrong password refused with a log line that
// says what to check.
#include "tests/e2e/e2e.hpp"
#include "tests/e2e/turn_clients.hpp"
#include "tests/support/admin_appliance.hpp"

#include <regex>

using namespace edgeway::test;
namespace fs = std::filesystem;

namespace {

constexpr const char* kPassword = "a long TURN password";

AdminApplianceOptions with_relay() {
    AdminApplianceOptions options;
    options.edge_admin = true;
    options.appliance.edge_patch = {{"turn", loopback_relay()}};
    return options;
}

}  // namespace

TEST_CASE(
    "the edge's TURN relay: a user added in the admin relays coturn's client to a peer, "
    "shown in relay usage and /metrics") {
    if (!fs::exists(kUclient))
        FAIL("coturn's turnutils_uclient is missing (packaging/install-deps installs coturn)");
    AdminAppliance admin(with_relay());
    Appliance& app = admin.app();
    const auto turn_port = port_of(app.edge().require_log(kTurnUdp, 10s));
    AdminClient edge = admin.edge_admin();

    CHECK(json::parse(edge.get("/api/v1/node").body)["features"]["turn_users"] == true);
    const Response added =
        edge.post_json("/api/v1/turn/users", {{"name", "alice"}, {"password", kPassword}});
    INFO(added.body);
    REQUIRE(added.status == 201);
    const json users = json::parse(edge.get("/api/v1/turn/users").body)["users"];
    REQUIRE(users.size() == 1);
    CHECK(users[0]["realm"] == "edgeway.test");
    // The CLI reads the same database.
    const auto listed = run_program(
        edgeway_binary(), {"turn", "user", "list", "--config", (app.dir() / "edge.json").string()},
        app.dir() / "turn-list.log", 10s);
    CHECK(listed.exit_code == 0);
    CHECK_THAT(listed.output, Contains("alice"));

    const TurnPeer peer(app.dir() / "peer.log");
    // 100 messages 50 ms apart: the allocation lives for about 5 s, long enough to be seen.
    ChildProcess client("turnutils_uclient", kUclient,
                        uclient_args(turn_port, peer.port(), "alice", kPassword, 100, 50),
                        app.dir() / "uclient.log");
    json allocations;
    const bool seen = wait_until(
        [&] {
            allocations = json::parse(edge.get("/api/v1/status/relay").body)["allocations"];
            return !allocations.empty();
        },
        10s, 100ms);
    INFO(allocations.dump());
    REQUIRE(seen);
    CHECK(allocations[0]["user"] == "alice");
    CHECK_THAT(allocations[0]["client"].get<std::string>(), StartsWith("udp 127.0.0.1:"));
    CHECK_THAT(allocations[0]["relayed"].get<std::string>(), StartsWith("127.0.0.1:3"));
    const Response metrics = edge.get("/metrics");
    // coturn's client makes an RTP and an RTCP allocation (and one it keeps in reserve).
    CHECK_THAT(metrics.body, Contains("\nedgeway_relay_allocations " +
                                      std::to_string(allocations.size()) + "\n"));

    const auto exit_code = client.wait_exit(30s);
    REQUIRE(exit_code);
    CHECK(*exit_code == 0);
    const std::string output = client.log_text();
    // The last summary line counts everything sent and echoed back.
    const std::regex summary(R"(start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+))");
    std::string sent, received;
    for (auto it = std::sregex_iterator(output.begin(), output.end(), summary);
         it != std::sregex_iterator(); ++it) {
        sent = (*it)[1];
        received = (*it)[2];
    }
    INFO(output.substr(output.size() > 2000 ? output.size() - 2000 : 0));
    CHECK(sent == "200");  // 100 over the RTP allocation and 100 over the RTCP one
    CHECK(received == sent);
}

TEST_CASE("the edge's TURN relay refuses a wrong password with 401 and says what to check") {
    if (!fs::exists(kUclient))
        FAIL("coturn's turnutils_uclient is missing (packaging/install-deps installs coturn)");
    AdminAppliance admin(with_relay());
    Appliance& app = admin.app();
    const auto turn_port = port_of(app.edge().require_log(kTurnUdp, 10s));
    AdminClient edge = admin.edge_admin();
    REQUIRE(
        edge.post_json("/api/v1/turn/users", {{"name", "alice"}, {"password", kPassword}}).status ==
        201);
    const auto result = run_program(
        kUclient, uclient_args(turn_port, free_udp_port(), "alice", "not the password", 1, 0),
        app.dir() / "uclient-wrong.log", 20s);
    CHECK(result.exit_code != 0);
    app.edge().require_log(R"(401: integrity check failed for user 'alice'.*password mismatch\?)",
                           10s);

    // Removed in the admin: the next attempt is refused as an unknown user.
    REQUIRE(edge.request(http::verb::delete_, "/api/v1/turn/users/alice").status == 200);
    CHECK(json::parse(edge.get("/api/v1/turn/users").body)["users"].empty());
    const auto audit = json::parse(edge.get("/api/v1/audit").body)["entries"];
    bool removal_audited = false;
    for (const auto& entry : audit)
        removal_audited = removal_audited ||
                          (entry["action"] == "TURN user removed" && entry["detail"] == "alice");
    CHECK(removal_audited);
}
