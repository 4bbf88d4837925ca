// The whole cluster at once: two edges, two cores sharing their state in a 3-member etcd
// cluster, a bounded load of HTTPS requests through both edges. A rule added on core A opens
// both edges; then A and B are restarted in turn (SIGTERM, then `edgeway drain`), with one etcd
// member lost in between: no new request fails, and the WebSockets on each drained core end
// with 1012 and reconnect through the other one.
#include "tests/e2e/drain_checks.hpp"
#include "tests/e2e/e2e.hpp"
#include "tests/support/cluster_appliance.hpp"

#include <csignal>
#include <memory>

using namespace edgeway::test;

namespace {

constexpr int kDeadlineMs = 1500;

// What a site opens for its join URL on one edge: its pages and its signalling.
std::vector<json> site_rules(std::uint16_t port) {
    auto rule = [port](const char* protocol, const char* path, std::vector<std::string> methods) {
        return json{{"description", "the site through this edge"},
                    {"protocol", protocol},
                    {"host", "localhost"},
                    {"port", port},
                    {"match", "prefix"},
                    {"path", path},
                    {"methods", std::move(methods)}};
    };
    return {rule("https", "/", {"GET", "POST"}), rule("wss", "/ws/", {"GET"})};
}

struct EdgeWebSocket {
    std::size_t edge;
    std::unique_ptr<WebSocketClient> ws;
};

}  // namespace

TEST_CASE(
    "cluster of 2 edges, 2 cores and 3 etcd members: a rule added on core A opens both edges, "
    "restarting A then B under load through both edges fails no request even with an etcd "
    "member lost, and WebSockets on a drained core get 1012 and reconnect",
    "[e2e][cluster]") {
    ClusterOptions options;
    options.core_patch = {{"drain", {{"deadline_ms", kDeadlineMs}}}};
    ClusterAppliance cluster(options);
    AdminClient a = cluster.admin(0);
    for (std::size_t e = 0; e < cluster.edge_count(); ++e)
        REQUIRE(https_get(cluster.edge_target(e), "/health").status == 403);
    const auto added = Clock::now();
    for (std::size_t e = 0; e < cluster.edge_count(); ++e)
        for (const json& rule : site_rules(cluster.edge_target(e).port))
            REQUIRE(a.post_json("/api/v1/rules", rule).status == 201);
    for (std::size_t e = 0; e < cluster.edge_count(); ++e)
        REQUIRE(wait_until(
            [&] { return https_get(cluster.edge_target(e), "/health").status == 200; }, 5s, 5ms));
    const double open_ms = elapsed_ms(added);
    WARN("4 rules added on core A: both edges open after " << open_ms << " ms");
    CHECK(open_ms < 1000);

    // Core B stopped while the WebSockets open: they all start on core A.
    REQUIRE(cluster.stop_core(1) == 0);
    std::vector<EdgeWebSocket> sockets;
    for (std::size_t e = 0; e < cluster.edge_count(); ++e)
        for (int n = 0; n < 2; ++n) {
            sockets.push_back({e, std::make_unique<WebSocketClient>(cluster.edge_target(e))});
            check_echo(*sockets.back().ws, "on core A");
        }
    cluster.start_core(1);

    std::vector<std::unique_ptr<RequestLoad>> loads;
    for (std::size_t e = 0; e < cluster.edge_count(); ++e) {
        loads.push_back(
            std::make_unique<RequestLoad>(load_options(cluster.edge_target(e), 2, false)));
        loads.push_back(
            std::make_unique<RequestLoad>(load_options(cluster.edge_target(e), 1, true)));
    }
    auto served = [&] {
        std::size_t sum = 0;
        for (const auto& load : loads) sum += load->finished();
        return sum;
    };
    REQUIRE(wait_until([&] { return served() >= 30; }, 15s));

    // Core i drains and exits while the load goes on: every WebSocket (all on it) gets 1012
    // at the deadline and reconnects at once, through the other core.
    std::vector<std::size_t> served_while_draining;
    auto drain_core = [&](std::size_t i, bool by_command) {
        INFO("draining core " << i);
        const std::size_t served_before = served();
        std::unique_ptr<ChildProcess> command;
        if (by_command)
            command = std::make_unique<ChildProcess>(
                "drain", edgeway_binary(),
                std::vector<std::string>{"drain", "--config", cluster.core_config_file(i).string(),
                                         "--deadline", "1.5"},
                cluster.app().dir() / ("drain-" + std::to_string(i) + ".log"));
        else
            cluster.core(i).signal(SIGTERM);
        const auto start = cluster.core(i).require_log(kDrainStart, 5s);
        CHECK(std::stoul(start[2]) == sockets.size());
        for (auto& socket : sockets) {
            const auto [code, closed] = read_until_closed(*socket.ws);
            CHECK(code == 1012);
            socket.ws = std::make_unique<WebSocketClient>(cluster.edge_target(socket.edge));
            check_echo(*socket.ws, "reconnected after core " + std::to_string(i) + " drained");
        }
        CHECK(cluster.core(i).wait_exit(10s) == 0);
        if (command) CHECK(command->wait_exit(5s) == 0);
        served_while_draining.push_back(served() - served_before);
    };
    drain_core(0, false);
    // One etcd member lost: the restarted core A and everything after it do without.
    cluster.etcd().kill(0);
    cluster.start_core(0);
    drain_core(1, true);
    cluster.start_core(1);
    const std::size_t served_after = served();
    CHECK(wait_until([&] { return served() >= served_after + 30; }, 15s));

    std::size_t failed = 0;
    std::string first;
    for (auto& load : loads) {
        load->stop();
        failed += load->failed();
        if (first.empty() && load->failed() > 0) first = first_failure(*load);
    }
    WARN("rolling restart of the cluster: " << served() << " requests through 2 edges, " << failed
                                            << " failed; " << served_while_draining.at(0)
                                            << " answered while core A drained, "
                                            << served_while_draining.at(1) << " while core B did");
    INFO("first failure: " << first);
    CHECK(failed == 0);
    CHECK(served_while_draining.at(0) > 0);
    CHECK(served_while_draining.at(1) > 0);
    // Both edges served through both cores: each restarted core took requests from each edge.
    for (std::size_t i = 0; i < cluster.core_count(); ++i)
        for (std::size_t e = 0; e < cluster.edge_count(); ++e) {
            INFO("core " << i << ", edge " << e);
            CHECK(cluster.core(i).log().count("host=localhost:" +
                                              std::to_string(cluster.edge_target(e).port)) > 0);
        }
}
