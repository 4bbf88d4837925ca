// SIGHUP (`systemctl reload`) on an edge and on a core: the configuration file and the
// certificates are read again; what can change while running applies to new connections,
// streams and links, open ones carry on; what needs a restart is logged as such; a file that
// cannot be used changes nothing.
#include "tests/e2e/e2e.hpp"

#include <csignal>
#include <fstream>

using namespace edgeway::test;
namespace fs = std::filesystem;

namespace {

constexpr const char* kReloaded = R"(certificates reloaded: https from )";
constexpr const char* kReloadFailed = R"(reload failed, nothing changed: .*)";
constexpr const char* kReloadRefused = R"(reload refused, nothing changed: .*)";
constexpr const char* kConfigReloaded = R"(configuration reloaded from \S+: (.*))";

// Whether a new TLS connection to target completes its handshake and a request.
bool answers(const TlsTarget& target) {
    try {
        return https_get(target, "/health").status == 200;
    } catch (const std::exception&) {
        return false;
    }
}

// One echo round trip on an open WebSocket.
bool echoes(WebSocketClient& ws, const std::string& text) {
    ws.send_text(text);
    return ws.read().data == text;
}

}  // namespace

TEST_CASE("SIGHUP gives new connections the edge's new certificate while open ones carry on") {
    Appliance app;
    HttpsConnection open_connection(app.target());
    REQUIRE(open_connection.get("/health").status == 200);

    // A certificate from another CA replaces the edge's files.
    const auto other = tls::ensure_lab_pki(app.dir() / "other-pki", {});
    fs::copy_file(other.edge_cert(), app.pki().edge_cert(), fs::copy_options::overwrite_existing);
    fs::copy_file(other.edge_key(), app.pki().edge_key(), fs::copy_options::overwrite_existing);
    TlsTarget old_ca = app.target();
    TlsTarget new_ca = app.target();
    new_ca.ca_file = other.ca_cert();
    CHECK(answers(old_ca));  // nothing changes before the signal
    CHECK_FALSE(answers(new_ca));

    app.edge().signal(SIGHUP);
    app.edge().require_log(kReloaded, 10s);
    CHECK(answers(new_ca));
    CHECK_FALSE(answers(old_ca));
    // The connection opened before the reload keeps its session and still works.
    CHECK(open_connection.get("/health").status == 200);
    // The link (its own listener, also reloaded) stayed up: requests went through it above.
    CHECK(app.edge().log().count(Appliance::kEdgeLinkUp) == 1);
}

TEST_CASE("SIGHUP with a broken certificate file keeps the previous certificate in use") {
    Appliance app;
    std::ofstream(app.pki().edge_cert(), std::ios::trunc) << "not a certificate\n";
    app.edge().signal(SIGHUP);
    const auto failure = app.edge().require_log(kReloadFailed, 10s);
    CHECK_THAT(failure[0], Contains(app.pki().edge_cert().string()));
    CHECK(app.edge().running());
    CHECK(answers(app.target()));
}

TEST_CASE("SIGHUP applies an edge's new limits to new connections, and open WebSockets carry on",
          "[e2e][reload]") {
    Appliance app;
    WebSocketClient ws(app.target());
    REQUIRE(echoes(ws, "before"));
    const Headers big{{"X-Padding", std::string(4000, 'p')}};
    REQUIRE(https_get(app.target(), "/health", big).status == 200);

    json config = app.edge_config();
    config["limits"]["max_header_bytes"] = 2048;
    config["listen"]["https"] = "127.0.0.1:1";  // a listener moves only with a restart
    write_json(app.edge_config_file(), config);
    app.edge().signal(SIGHUP);
    const auto reloaded = app.edge().require_log(kConfigReloaded, 10s);
    CHECK_THAT(reloaded[1], Contains("applied limits"));
    CHECK_THAT(reloaded[1], Contains("waiting for a restart: listen.https"));

    CHECK(https_get(app.target(), "/health", big).status == 431);  // new connection, new limit
    CHECK(https_get(app.target(), "/health").status == 200);       // still on the old port
    CHECK(echoes(ws, "after"));
    CHECK(app.edge().log().count(Appliance::kEdgeLinkUp) == 1);
}

TEST_CASE("SIGHUP with a configuration file that cannot be used changes nothing", "[e2e][reload]") {
    Appliance app;
    WebSocketClient ws(app.target());
    std::ofstream(app.edge_config_file(), std::ios::trunc) << "{ \"workers\": \n";
    app.edge().signal(SIGHUP);
    CHECK_THAT(app.edge().require_log(kReloadRefused, 10s)[0], Contains("edge.json"));

    // Valid up to its edges, so that the error names them.
    std::ofstream(app.core_config_file(), std::ios::trunc)
        << R"({"join_url": "https://join.example.com/", "edges": "nowhere"})"
        << "\n";
    app.core().signal(SIGHUP);
    CHECK_THAT(app.core().require_log(kReloadRefused, 10s)[0], Contains("edges"));

    CHECK(app.edge().running());
    CHECK(app.core().running());
    CHECK(answers(app.target()));
    CHECK(echoes(ws, "still here"));
}

TEST_CASE("SIGHUP on a core dials an edge added to its file and closes the link to a removed one",
          "[e2e][reload]") {
    Appliance app;
    WebSocketClient ws(app.target());
    REQUIRE(echoes(ws, "before"));

    // A second edge with the same lab certificates, on ports of its own.
    write_json(app.dir() / "edge2.json", app.edge_config());
    ChildProcess edge2("edge2", edgeway_binary(),
                       {"edge", "--config", (app.dir() / "edge2.json").string()},
                       app.dir() / "edge2.log");
    const auto https2 = port_of(edge2.require_log(R"(https listening on 127\.0\.0\.1:(\d+))", 15s));
    const auto link2 = port_of(edge2.require_log(R"(link listening on 127\.0\.0\.1:(\d+))", 15s));
    TlsTarget second = app.target();
    second.port = https2;
    CHECK(https_get(second, "/health").status == 503);  // no core has a link to it yet

    // Added: the core dials it; each edge port is a join URL of its own here, so the new join
    // URL's automatic rules come with it.
    json config = app.core_config();
    const json first_edge = config["edges"][0];
    const json second_edge = {{"address", "127.0.0.1:" + std::to_string(link2)},
                              {"server_name", "localhost"}};
    config["edges"].push_back(second_edge);
    config["join_url"] = {config["join_url"], "https://localhost:" + std::to_string(https2) + "/"};
    write_json(app.core_config_file(), config);
    app.core().signal(SIGHUP);
    CHECK_THAT(app.core().require_log(kConfigReloaded, 10s)[1],
               Contains("applied edges") && Contains("join_url"));
    edge2.require_log(Appliance::kEdgeLinkUp, 15s);
    REQUIRE(wait_until([&] { return answers(second); }, 10s));
    CHECK(echoes(ws, "after the edge was added"));  // the first edge's link never went down
    CHECK(app.edge().log().count(Appliance::kEdgeLinkUp) == 1);

    // Removed: its link closes and the core stops dialling it; the other edge is untouched.
    config["edges"] = json::array({second_edge});
    write_json(app.core_config_file(), config);
    app.core().signal(SIGHUP);
    app.core().require_log(regex_escape(first_edge["address"].get<std::string>()) +
                               R"(#0 closed: its edge is no longer configured)",
                           10s);
    CHECK(https_get(second, "/health").status == 200);
    CHECK(wait_until([&] { return https_get(app.target(), "/health").status == 503; }, 10s));
}
