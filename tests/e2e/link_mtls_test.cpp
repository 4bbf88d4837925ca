// The link port is mutually authenticated: only clients with a certificate from the lab CA get
// a link.
#include "tests/e2e/e2e.hpp"

using namespace edgeway::test;

namespace {

// A rogue CA and a client certificate it signed, named like the real core's.
std::pair<std::filesystem::path, std::filesystem::path> rogue_client(const Appliance& app) {
    const auto ca = app.dir() / "rogue-ca.pem";
    const auto ca_key = app.dir() / "rogue-ca.key";
    tls::write_ca(ca, ca_key, "Edgeway lab CA");
    tls::write_leaf(ca, ca_key, app.dir() / "rogue-core.pem", app.dir() / "rogue-core.key",
                    {"core", {}, {}}, tls::Usage::client);
    return {app.dir() / "rogue-core.pem", app.dir() / "rogue-core.key"};
}

void check_refused(Appliance& app, const TlsTarget& target) {
    RawExchange exchange;
    exchange.timeout = 5s;
    exchange.stop_at_response = false;
    const auto result = raw_tls_exchange(target, std::move(exchange));
    INFO("handshake: " << result.handshake_error << "; read: " << result.read_error);
    // With TLS 1.3 the client's handshake completes before the server checks its certificate,
    // so the refusal shows as a failed handshake or as an alert/close on the first read.
    if (result.handshake_ok) {
        CHECK(result.closed);
        CHECK(result.received.empty());
        app.edge().require_log(
            R"(link refused from 127\.0\.0\.1:)" + std::to_string(result.local_port) + ": .+", 5s);
    } else {
        app.edge().require_log(R"(link refused from 127\.0\.0\.1:\d+: .+)", 5s);
    }
    CHECK(app.edge_links_up() == 1);  // only the real core's link
}

}  // namespace

TEST_CASE("the link port refuses a client certificate from a rogue CA", "[e2e][link][mtls]") {
    Appliance app;
    auto target = app.link_target();
    std::tie(target.certificate_file, target.private_key_file) = rogue_client(app);
    check_refused(app, target);
}

TEST_CASE("the link port refuses a client without a certificate", "[e2e][link][mtls]") {
    Appliance app;
    check_refused(app, app.link_target());
}

TEST_CASE("a core presenting a rogue certificate never gets a link", "[e2e][link][mtls]") {
    ApplianceOptions options;
    options.start_core = false;
    Appliance app(options);
    const auto [cert, key] = rogue_client(app);
    auto config = app.core_config();
    config["link_tls"]["certificate"] = cert.string();
    config["link_tls"]["private_key"] = key.string();
    write_json(app.dir() / "rogue-core.json", config);
    ChildProcess core("rogue-core", edgeway_binary(),
                      {"core", "--config", (app.dir() / "rogue-core.json").string()},
                      app.dir() / "rogue-core.log");
    app.edge().require_log(R"(link refused from 127\.0\.0\.1:\d+: .+)", 10s);
    CHECK(core.log().count("link up") == 0);
    CHECK(app.edge_links_up() == 0);
    CHECK(https_get(app.target(), "/health").status == 503);
}

TEST_CASE("a core that does not trust the edge's link certificate does not connect",
          "[e2e][link][mtls]") {
    ApplianceOptions options;
    options.start_core = false;
    Appliance app(options);
    tls::write_ca(app.dir() / "other-ca.pem", app.dir() / "other-ca.key", "Other CA");
    auto config = app.core_config();
    config["link_tls"]["edge_ca"] = (app.dir() / "other-ca.pem").string();
    write_json(app.dir() / "wary-core.json", config);
    ChildProcess core("wary-core", edgeway_binary(),
                      {"core", "--config", (app.dir() / "wary-core.json").string()},
                      app.dir() / "wary-core.log");
    core.require_log("certificate verify failed", 10s);
    CHECK(core.log().count("link up") == 0);
    CHECK(app.edge_links_up() == 0);
}
