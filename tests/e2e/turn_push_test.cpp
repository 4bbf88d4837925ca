// TURN credentials administered on the cores and pushed to the edges over the links (an edge
// with "turn": {"credentials": "pushed"} keeps no credential file): a user added on a core's
// admin API authenticates on the edge's relay within a second, a removed one is refused with
// 401, the last set stays when every link is down, neither side logs a key or a password; in
// an etcd cluster a user added through core A authenticates on both edges; an edge that has no
// link yet refuses every user and says why.
#include "tests/e2e/e2e.hpp"
#include "tests/e2e/turn_clients.hpp"
#include "tests/support/admin_appliance.hpp"
#include "tests/support/cluster_appliance.hpp"

#include <openssl/evp.h>

using namespace edgeway::test;
namespace fs = std::filesystem;

namespace {

constexpr const char* kPassword = "a long TURN password";
constexpr const char* kOtherPassword = "another TURN password";
constexpr const char* kPushedOneUser = R"(TURN credentials version \d+ applied \(1 user,)";

json pushed_relay() {
    json relay = loopback_relay();
    relay["credentials"] = "pushed";
    return relay;
}

// The realm the cores give the users they push: the edges' relays'.
const json kCoreRealm = {{"turn", {{"realm", "edgeway.test"}}}};

// The hex form of a user's stored key, as it would appear if a log leaked it.
std::string hex_key(const std::string& user, const std::string& password) {
    const std::string text = user + ":edgeway.test:" + password;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    REQUIRE(EVP_Digest(text.data(), text.size(), digest, &size, EVP_md5(), nullptr) == 1);
    std::string hex;
    for (unsigned int i = 0; i < size; ++i) hex += fmt::format("{:02x}", digest[i]);
    return hex;
}

// coturn's client authenticates as `user` on the relay: the relay logs its allocation.
void require_allocation(ChildProcess& edge, std::uint16_t turn_port, const std::string& user,
                        const std::string& password, const fs::path& log_file) {
    const std::string allocated = "allocation for user '" + user + "' from udp";
    const std::size_t before = edge.log().count(allocated);
    const auto client = start_uclient(turn_port, user, password, log_file);
    edge.require_log(allocated, 5s, before + 1);
}

// coturn's client is refused as `user`: the relay logs the 401 (`refusal`, a pattern).
void require_refusal(ChildProcess& edge, std::uint16_t turn_port, const std::string& user,
                     const std::string& refusal, const fs::path& log_file) {
    const std::size_t before = edge.log().count(refusal);
    const auto client = start_uclient(turn_port, user, kPassword, log_file);
    edge.require_log(refusal, 5s, before + 1);
    CHECK(edge.log().count("allocation for user '" + user + "'") == 0);
}

}  // namespace

TEST_CASE(
    "turn push: a user added on the core's admin API authenticates on the edge, a removed one "
    "gets 401, the last set stays when the link is down",
    "[e2e][turn]") {
    if (!fs::exists(kUclient))
        FAIL("coturn's turnutils_uclient is missing (packaging/install-deps installs coturn)");
    AdminApplianceOptions options;
    options.appliance.edge_patch = {{"turn", pushed_relay()}};
    options.appliance.core_patch = kCoreRealm;
    AdminAppliance admin(options);
    Appliance& app = admin.app();
    const auto turn_port = port_of(app.edge().require_log(kTurnUdp, 10s));
    CHECK_FALSE(fs::exists(app.dir() / "edge-state" / "turn.db"));
    AdminClient core = admin.core_admin();
    CHECK(json::parse(core.get("/api/v1/node").body)["features"]["turn_users"] == true);

    REQUIRE(
        core.post_json("/api/v1/turn/users", {{"name", "alice"}, {"password", kPassword}}).status ==
        201);
    REQUIRE(core.post_json("/api/v1/turn/users", {{"name", "bob"}, {"password", kOtherPassword}})
                .status == 201);
    const auto users = json::parse(core.get("/api/v1/turn/users").body)["users"];
    REQUIRE(users.size() == 2);
    CHECK(users[0]["realm"] == "edgeway.test");
    app.edge().require_log(R"(TURN credentials version \d+ applied \(2 users,)", 1s);

    require_allocation(app.edge(), turn_port, "alice", kPassword, app.dir() / "alice-1.log");

    REQUIRE(core.request(http::verb::delete_, "/api/v1/turn/users/bob").status == 200);
    app.edge().require_log(kPushedOneUser, 1s);
    require_refusal(app.edge(), turn_port, "bob",
                    R"(401: user 'bob' unknown in the credentials pushed by the cores)",
                    app.dir() / "bob.log");

    // The core gone, the edge keeps the set it had.
    REQUIRE(app.stop_core() == 0);
    require_allocation(app.edge(), turn_port, "alice", kPassword, app.dir() / "alice-2.log");

    for (auto* process : {&app.edge(), &app.core()})
        for (const auto& secret :
             {std::string(kPassword), std::string(kOtherPassword), hex_key("alice", kPassword)})
            CHECK(process->log_text().find(secret) == std::string::npos);
}

TEST_CASE("turn push: an edge without a link yet refuses every user with 401 and says why",
          "[e2e][turn]") {
    if (!fs::exists(kUclient))
        FAIL("coturn's turnutils_uclient is missing (packaging/install-deps installs coturn)");
    ApplianceOptions options;
    options.start_core = false;
    options.edge_patch = {{"turn", pushed_relay()}};
    Appliance app(options);
    const auto turn_port = port_of(app.edge().require_log(kTurnUdp, 10s));
    app.edge().require_log(
        "every user is refused \\(401\\) until a core's link brings the first set", 1s);
    for (const std::string user : {"alice", "bob"})
        require_refusal(
            app.edge(), turn_port, user,
            "401: user '" + user +
                R"(' unknown in the credentials pushed by the cores \(none received yet\))",
            app.dir() / ("uclient-" + user + ".log"));
    CHECK(app.edge().log().count("no TURN credentials pushed by a core yet") == 1);
}

TEST_CASE("turn push: in an etcd cluster a user added through core A authenticates on both edges",
          "[e2e][turn][cluster]") {
    if (!fs::exists(kUclient))
        FAIL("coturn's turnutils_uclient is missing (packaging/install-deps installs coturn)");
    ClusterOptions options;
    options.edge_patch = {{"turn", pushed_relay()}};
    options.core_patch = kCoreRealm;
    ClusterAppliance cluster(options);
    std::vector<std::uint16_t> turn_ports;
    for (std::size_t i = 0; i < cluster.edge_count(); ++i)
        turn_ports.push_back(port_of(cluster.edge(i).require_log(kTurnUdp, 10s)));
    AdminClient a = cluster.admin(0);
    const auto start = Clock::now();
    REQUIRE(
        a.post_json("/api/v1/turn/users", {{"name", "alice"}, {"password", kPassword}}).status ==
        201);
    // Both edges hear it from both cores; a core that lags never takes it back.
    for (std::size_t i = 0; i < cluster.edge_count(); ++i)
        cluster.edge(i).require_log(kPushedOneUser, 2s);
    const double ms = elapsed_ms(start);
    WARN("TURN user added on core A applied on both edges after " << ms << " ms");
    CHECK(ms < 1000);
    CHECK(json::parse(cluster.admin(1).get("/api/v1/turn/users").body)["users"].size() == 1);

    for (std::size_t i = 0; i < cluster.edge_count(); ++i)
        require_allocation(cluster.edge(i), turn_ports[i], "alice", kPassword,
                           cluster.app().dir() / ("uclient-" + std::to_string(i) + ".log"));
}
