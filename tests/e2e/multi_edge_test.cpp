// One core keeps links to several edges at once: each edge serves through its own link, and
// losing one edge leaves the others serving.
#include "tests/e2e/e2e.hpp"

using namespace edgeway::test;

TEST_CASE("one core holds links to two edges, both serve, and losing one edge spares the other",
          "[e2e][link]") {
    ApplianceOptions options;
    options.start_core = false;
    Appliance app(options);

    // A second edge with the same lab certificates, on ports of its own.
    write_json(app.dir() / "edge2.json", app.edge_config());
    ChildProcess edge2("edge2", edgeway_binary(),
                       {"edge", "--config", (app.dir() / "edge2.json").string()},
                       app.dir() / "edge2.log");
    const auto https2 = port_of(edge2.require_log(R"(https listening on 127\.0\.0\.1:(\d+))", 15s));
    const auto link2 = port_of(edge2.require_log(R"(link listening on 127\.0\.0\.1:(\d+))", 15s));

    json core_config = app.core_config();
    const std::string second_address = "127.0.0.1:" + std::to_string(link2);
    core_config["edges"].push_back({{"address", second_address}, {"server_name", "localhost"}});
    // Each edge is reached on a port of its own here, so each port is a join URL of its own.
    core_config["join_url"] = {core_config["join_url"],
                               "https://localhost:" + std::to_string(https2) + "/"};
    write_json(app.dir() / "core-two-edges.json", core_config);
    ChildProcess core("core", edgeway_binary(),
                      {"core", "--config", (app.dir() / "core-two-edges.json").string()},
                      app.dir() / "core.log");
    core.require_log(Appliance::kCoreLinkUp, 15s, 2);
    app.edge().require_log(Appliance::kEdgeLinkUp, 15s);
    edge2.require_log(Appliance::kEdgeLinkUp, 15s);
    const std::string applied =
        "allow list version " + core.require_log(Appliance::kCoreRulesCurrent, 15s)[1] + " applied";
    app.edge().require_log(applied, 15s);
    edge2.require_log(applied, 15s);

    TlsTarget first = app.target();
    TlsTarget second = app.target();
    second.port = https2;
    CHECK(https_get(first, "/health").status == 200);
    CHECK(https_get(second, "/health").status == 200);

    CHECK(edge2.terminate() == 0);
    core.require_log("link down to " + regex_escape(second_address), 15s);
    CHECK(https_get(first, "/health").status == 200);
    // The core keeps redialling the lost edge without disturbing the link that is up.
    core.require_log("link to " + regex_escape(second_address) + " failed: .*retrying in", 15s);
    CHECK(https_get(first, "/health").status == 200);
}

TEST_CASE("an edge with more workers than links serves every new connection", "[e2e][link]") {
    ApplianceOptions options;
    options.edge_patch = {{"workers", 2}};
    options.core_patch = {{"links_per_edge", 1}};
    Appliance app(options);
    // Each request is a new TCP connection, so the kernel spreads them over both workers'
    // listeners; the worker without a link must hand its connections to the one with it.
    for (int i = 0; i < 20; ++i) {
        INFO("request " << i);
        CHECK(https_get(app.target(), "/health").status == 200);
    }
}
