// The admin server in process, over real HTTPS on loopback: status, logs and /metrics from
// controllable hooks, authentication everywhere (session, HTTP Basic for /metrics), CSRF,
// configuration with its 422s, the live rebind of the listener, certificate uploads, accounts
// and the audit log. Each case starts its own server on a kernel-picked port in a temp dir.
#include "admin/admin.hpp"
#include "admin/certificate_check.hpp"
#include "admin/certificates_api.hpp"
#include "tests/support/admin_client.hpp"
#include "tests/support/temp_dir.hpp"
#include "tls/tls.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <catch2/catch.hpp>

#include <mutex>
#include <regex>
#include <sstream>

using namespace edgeway;
using namespace edgeway::test;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using json = nlohmann::json;
namespace fs = std::filesystem;
namespace tele = edgeway::telemetry;

namespace {

// What the hooks report; the test changes it between requests.
struct FakeNode {
    std::mutex mutex;
    std::vector<tele::LinkStatus> links;
    std::vector<tele::RelayAllocation> relay;
    tele::RequestLog requests{100};
    int https_reloads = 0;
    int ca_reloads = 0;
    bool ca_reload_fails = false;  // the node cannot use the CA (a reload throws)
};

struct AdminServer {
    TempDir dir{"admin-api"};
    tls::LabPki pki;
    Logger log{"admin-test", LogLevel::warn};
    FakeNode node;
    admin::ServerConfig config;
    std::unique_ptr<admin::Server> server;
    std::string password;

    explicit AdminServer(bool core = true) {
        pki = tls::ensure_lab_pki(dir / "pki", {});
        // Copies: an upload replaces these files, never the lab PKI's.
        fs::copy_file(pki.edge_cert(), dir / "admin.pem");
        fs::copy_file(pki.edge_key(), dir / "admin.key");
        fs::copy_file(pki.edge_cert(), dir / "https.pem");
        fs::copy_file(pki.edge_key(), dir / "https.key");
        config.listen = "127.0.0.1:0";
        config.certificate = dir / "admin.pem";
        config.private_key = dir / "admin.key";
        config.state_directory = dir / "state";
        if (core) config.rule_database = dir / "state" / "allowlist.db";
        config.join_urls = {"https://join.example.com/"};
        config.certificates = {
            {"https", "browsers (443)", dir / "https.pem", dir / "https.key",
             [this] {
                 // Loads the files as the edge would, so a bad file fails here too.
                 tls::make_server_context({dir / "https.pem", dir / "https.key", {}, {}});
                 std::lock_guard lock(node.mutex);
                 ++node.https_reloads;
             },
             true},
            // A CA slot whose file is not there yet (a new core without the edges' CA).
            {"link_ca", "CA of the edges' link certificates", dir / "link-ca.pem", {}, [this] {
                 std::lock_guard lock(node.mutex);
                 if (node.ca_reload_fails) throw std::runtime_error("the node refused the CA");
                 ++node.ca_reloads;
             }}};
        config.hooks.role = core ? "core" : "edge";
        config.hooks.links = [this] {
            std::lock_guard lock(node.mutex);
            return node.links;
        };
        config.hooks.relay = [this] {
            std::lock_guard lock(node.mutex);
            return node.relay;
        };
        config.hooks.requests = &node.requests;
        start();
        password = *server->first_start_password();
    }
    void start() {
        server = std::make_unique<admin::Server>(config, log);
        server->start();
    }
    TlsTarget target() const {
        TlsTarget target;
        target.port = server->port();
        target.ca_file = pki.ca_cert();
        return target;
    }
    AdminClient logged_in() const {
        AdminClient client(target());
        const Response response = client.login("admin", password);
        INFO(response.body);
        REQUIRE(response.status == 200);
        return client;
    }
};

json body_of(const Response& response) {
    INFO("status " << response.status << " body " << response.body);
    return json::parse(response.body);
}

Response put_json(AdminClient& client, std::string path, const json& body,
                  const AdminRequestOptions& options = {}) {
    return client.request(http::verb::put, std::move(path), body.dump(), options);
}

std::string base64(const std::string& text) {
    std::string out(4 * ((text.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(text.data()),
                                  static_cast<int>(text.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

// The SHA-256 fingerprint ("AB:CD:...") of the certificate a new connection to port gets.
std::string served_fingerprint(std::uint16_t port) {
    net::io_context io;
    ssl::context context(ssl::context::tls_client);
    context.set_verify_mode(ssl::verify_none);
    TlsStream stream(io, context);
    SSL_set_tlsext_host_name(stream.native_handle(), "localhost");
    beast::get_lowest_layer(stream).connect(
        tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    stream.handshake(ssl::stream_base::client);
    X509* cert = SSL_get1_peer_certificate(stream.native_handle());
    REQUIRE(cert);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    X509_digest(cert, EVP_sha256(), digest, &length);
    X509_free(cert);
    std::string out;
    for (unsigned i = 0; i < length; ++i) out += fmt::format("{}{:02X}", i ? ":" : "", digest[i]);
    return out;
}

// A port that was free a moment ago (the kernel's pick, released).
std::uint16_t free_port() {
    net::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    return acceptor.local_endpoint().port();
}

bool connect_refused(std::uint16_t port) {
    net::io_context io;
    tcp::socket socket(io);
    boost::system::error_code ec;
    socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
    return ec == net::error::connection_refused;
}

tele::LinkStatus link(std::string peer, tele::LinkState state, std::uint64_t open) {
    tele::LinkStatus status;
    status.peer = std::move(peer);
    status.name = "edge1.example.local";
    status.domains = {"webbridge.example.internal"};
    status.state = state;
    status.reason = state == tele::LinkState::failed ? "connection refused" : "";
    status.since = tele::Clock::now();
    status.streams_open = open;
    status.streams_total = 10 + open;
    status.bytes_in = 1000;
    status.bytes_out = 2000;
    return status;
}

tele::RequestRecord record(std::string path, unsigned status, std::string refusal = "") {
    tele::RequestRecord r;
    r.at = tele::Clock::now();
    r.client = "192.0.2.7";
    r.protocol = "https";
    r.method = "GET";
    r.host = "join.example.com";
    r.path = std::move(path);
    r.status = status;
    r.refusal = std::move(refusal);
    if (r.refusal == tele::kRefusalNoRule) r.detail = "no allow-list rule allows GET " + r.path;
    if (r.refusal == tele::kRefusalUpstream) r.detail = "the web bridge did not answer in time";
    r.bytes_in = 10;
    r.bytes_out = 100;
    return r;
}

}  // namespace

TEST_CASE("admin API: without a session everything but the login answers 401", "[admin][api]") {
    AdminServer admin;
    AdminClient anonymous(admin.target());
    for (const char* path : {"/api/v1/node", "/api/v1/status/links", "/api/v1/status/relay",
                             "/api/v1/logs", "/api/v1/config", "/api/v1/accounts",
                             "/api/v1/certificates", "/api/v1/audit", "/api/v1/rules"}) {
        INFO(path);
        const Response response = anonymous.get(path);
        CHECK(response.status == 401);
        CHECK(response.header("Cache-Control") == "no-store");
        CHECK_THAT(response.header("Content-Security-Policy"), Contains("script-src 'self'"));
    }
    CHECK(anonymous.get("/metrics").status == 401);
    CHECK_THAT(anonymous.get("/metrics").header("WWW-Authenticate"), StartsWith("Basic"));
    CHECK(put_json(anonymous, "/api/v1/config", {{"admin", {{"listen", "127.0.0.1:0"}}}}).status ==
          401);
    for (const char* page : {"/status/links", "/status/relay", "/system", "/logs"}) {
        INFO(page);
        const Response response = anonymous.get(page);
        CHECK(response.status == 303);
        CHECK(response.header("Location") == "/login");
    }

    // Logged in, a change without the CSRF token is refused and changes nothing.
    AdminClient client = admin.logged_in();
    const json account = {{"name", "bob"}, {"password", "bob's long password"}};
    CHECK(client.post_json("/api/v1/accounts", account, AdminRequestOptions().no_csrf()).status ==
          403);
    CHECK(put_json(client, "/api/v1/config", {{"web_proxy", {{"enabled", false}}}},
                   AdminRequestOptions().no_csrf())
              .status == 403);
    CHECK(client
              .request(http::verb::delete_, "/api/v1/accounts/admin", {},
                       AdminRequestOptions().no_csrf())
              .status == 403);
    CHECK(put_json(client, "/api/v1/certificates/admin", {{"certificate", ""}},
                   AdminRequestOptions().no_csrf())
              .status == 403);
    CHECK(body_of(client.get("/api/v1/accounts"))["accounts"].size() == 1);
    CHECK(body_of(client.get("/api/v1/config"))["web_proxy"]["enabled"] == true);
    for (const char* page : {"/status/links", "/status/relay", "/system", "/logs"}) {
        INFO(page);
        CHECK(client.get(page).status == 200);
    }
}

TEST_CASE("admin API: node, links, relay and logs show what the hooks report", "[admin][api]") {
    AdminServer admin;
    {
        std::lock_guard lock(admin.node.mutex);
        admin.node.links = {link("198.51.100.1:7443", tele::LinkState::active, 3),
                            link("198.51.100.2:7443", tele::LinkState::failed, 0)};
    }
    admin.node.requests.record(record("/ok", 200));
    admin.node.requests.record(record("/secret", 403, tele::kRefusalNoRule));
    admin.node.requests.record(record("/slow", 504, tele::kRefusalUpstream));
    AdminClient client = admin.logged_in();

    const json node = body_of(client.get("/api/v1/node"));
    CHECK(node["role"] == "core");
    CHECK(node["user"] == "admin");
    CHECK(node["features"]["rules"] == true);
    CHECK(node["features"]["links"] == true);
    CHECK(node["features"]["relay"] == true);
    CHECK(node["features"]["logs"] == true);
    CHECK(node["features"]["https_certificate"] == true);

    const json links = body_of(client.get("/api/v1/status/links"))["links"];
    REQUIRE(links.size() == 2);
    CHECK(links[0]["peer"] == "198.51.100.1:7443");
    CHECK(links[0]["name"] == "edge1.example.local");
    CHECK(links[0]["domains"] == json{"webbridge.example.internal"});
    CHECK(links[0]["state"] == "Active");
    CHECK(links[0]["streams_open"] == 3);
    CHECK(links[0]["streams_total"] == 13);
    CHECK(links[0]["bytes_in"] == 1000);
    CHECK(links[0]["bytes_out"] == 2000);
    CHECK_THAT(links[0]["since"].get<std::string>(), Catch::Matches(R"(\d{4}-\d\d-\d\dT.*Z)"));
    CHECK(links[1]["state"] == "Failed");
    CHECK(links[1]["reason"] == "connection refused");

    // The link drops: the next answer says so.
    {
        std::lock_guard lock(admin.node.mutex);
        admin.node.links[0].state = tele::LinkState::connecting;
    }
    CHECK(body_of(client.get("/api/v1/status/links"))["links"][0]["state"] == "Connecting");

    // No allocations is a normal answer, not an error.
    CHECK(body_of(client.get("/api/v1/status/relay"))["allocations"] == json::array());
    {
        std::lock_guard lock(admin.node.mutex);
        tele::RelayAllocation allocation;
        allocation.user = "turnuser";
        allocation.client = "203.0.113.9:50000";
        allocation.relayed = "198.51.100.1:24001";
        admin.node.relay.push_back(allocation);
    }
    const json relay = body_of(client.get("/api/v1/status/relay"))["allocations"];
    REQUIRE(relay.size() == 1);
    CHECK(relay[0]["user"] == "turnuser");
    CHECK(relay[0]["relayed"] == "198.51.100.1:24001");

    // Logs: newest first, filtered.
    const json all = body_of(client.get("/api/v1/logs"))["requests"];
    REQUIRE(all.size() == 3);
    CHECK(all[0]["path"] == "/slow");
    CHECK(all[2]["path"] == "/ok");
    const json refused = body_of(client.get("/api/v1/logs?refused=1"))["requests"];
    REQUIRE(refused.size() == 2);
    CHECK(refused[0]["refusal"] == "upstream");
    CHECK(refused[1]["refused"] == true);
    CHECK(refused[1]["detail"] == "no allow-list rule allows GET /secret");
    const json forbidden = body_of(client.get("/api/v1/logs?status=403"))["requests"];
    REQUIRE(forbidden.size() == 1);
    CHECK(forbidden[0]["path"] == "/secret");
    const json text = body_of(client.get("/api/v1/logs?q=SLO&refused=1"))["requests"];
    REQUIRE(text.size() == 1);
    CHECK(text[0]["path"] == "/slow");
    CHECK(body_of(client.get("/api/v1/logs?limit=1"))["requests"].size() == 1);
    CHECK(body_of(client.get("/api/v1/logs?q=no%20allow-list"))["requests"].size() == 1);

    for (const auto& [query, field] :
         std::vector<std::pair<std::string, std::string>>{{"status=abc", "status"},
                                                          {"status=700", "status"},
                                                          {"refused=maybe", "refused"},
                                                          {"limit=0", "limit"},
                                                          {"limit=99999", "limit"},
                                                          {"colour=red", "colour"},
                                                          {"q=%0a", "query"}}) {
        INFO(query);
        const Response response = client.get("/api/v1/logs?" + query);
        CHECK(response.status == 422);
        CHECK(body_of(response)["field"] == field);
    }
    CHECK(client.request(http::verb::post, "/api/v1/status/links", "{}").status == 405);
}

TEST_CASE("admin API: a hook the node lacks answers 404 with a message", "[admin][api]") {
    AdminServer admin(false);
    admin.server->stop();
    admin.config.hooks = {};
    admin.config.certificates.clear();
    admin.config.hooks.role = "edge";
    admin.start();
    AdminClient client = admin.logged_in();
    for (const char* path : {"/api/v1/status/links", "/api/v1/status/relay", "/api/v1/logs",
                             "/api/v1/rules", "/api/v1/certificates/https"}) {
        INFO(path);
        const Response response = client.get(path);
        CHECK(response.status == 404);
        CHECK_THAT(body_of(response)["error"].get<std::string>(),
                   Contains("This node has no") || Contains("on this node"));
    }
    const json node = body_of(client.get("/api/v1/node"));
    CHECK(node["role"] == "edge");
    CHECK(node["features"]["rules"] == false);
    CHECK(node["features"]["links"] == false);
    CHECK(node["features"]["https_certificate"] == false);
    CHECK_FALSE(body_of(client.get("/api/v1/config")).contains("web_proxy"));
    CHECK(body_of(client.get("/api/v1/certificates"))["certificates"].size() == 1);
    CHECK(client.get("/").header("Location") == "/system");
}

TEST_CASE("admin API: /metrics in Prometheus text format, with a session or HTTP Basic",
          "[admin][api]") {
    AdminServer admin;
    {
        std::lock_guard lock(admin.node.mutex);
        admin.node.links = {link("198.51.100.1:7443", tele::LinkState::active, 3),
                            link("edge \"2\"\\x", tele::LinkState::failed, 0)};
        admin.node.relay.resize(2);
    }
    admin.node.requests.record(record("/ok", 200));
    admin.node.requests.record(record("/ok", 200));
    admin.node.requests.record(record("/secret", 403, tele::kRefusalNoRule));

    AdminClient anonymous(admin.target());
    const Response basic = anonymous.get(
        "/metrics", AdminRequestOptions().header("Authorization",
                                                 "Basic " + base64("admin:" + admin.password)));
    REQUIRE(basic.status == 200);
    CHECK_THAT(basic.header("Content-Type"), StartsWith("text/plain; version=0.0.4"));
    const std::string& text = basic.body;
    INFO(text);
    CHECK_THAT(text, Contains("# HELP edgeway_requests_total "));
    CHECK_THAT(text, Contains("# TYPE edgeway_requests_total counter\n"));
    CHECK_THAT(text, Contains("\nedgeway_requests_total{status=\"200\"} 2\n"));
    CHECK_THAT(text, Contains("\nedgeway_requests_total{status=\"403\"} 1\n"));
    CHECK_THAT(text, Contains("\nedgeway_refused_total{reason=\"no_rule\"} 1\n"));
    CHECK_THAT(text, Contains("\nedgeway_request_bytes_total{direction=\"in\"} 30\n"));
    CHECK_THAT(text, Contains("\nedgeway_request_bytes_total{direction=\"out\"} 300\n"));
    CHECK_THAT(text, Contains("# TYPE edgeway_link_up gauge\n"));
    CHECK_THAT(text, Contains("\nedgeway_link_up{peer=\"198.51.100.1:7443\","
                              "name=\"edge1.example.local\"} 1\n"));
    // Label values escaped per the format.
    CHECK_THAT(text, Contains("\nedgeway_link_up{peer=\"edge \\\"2\\\"\\\\x\","
                              "name=\"edge1.example.local\"} 0\n"));
    CHECK_THAT(text, Contains("edgeway_link_state{peer=\"198.51.100.1:7443\",name=\"edge1."
                              "example.local\",state=\"Active\"} 1\n"));
    CHECK_THAT(text, Contains("edgeway_link_streams_open{peer=\"198.51.100.1:7443\",name=\"edge1."
                              "example.local\"} 3\n"));
    CHECK_THAT(text, Contains("edgeway_link_bytes_total{peer=\"198.51.100.1:7443\",name=\"edge1."
                              "example.local\",direction=\"out\"} 2000\n"));
    CHECK_THAT(text, Contains("# TYPE edgeway_relay_allocations gauge\nedgeway_relay_allocations "
                              "2\n"));
    // Every line is a comment or `name{labels} value`.
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        INFO(line);
        CHECK((line.starts_with("# HELP ") || line.starts_with("# TYPE ") ||
               std::regex_match(line, std::regex(R"(edgeway_[a-z_]+(\{.*\})? \d+)"))));
    }

    // A session cookie works too.
    AdminClient client = admin.logged_in();
    CHECK(client.get("/metrics").status == 200);

    CHECK(anonymous.get("/metrics", AdminRequestOptions().header("Authorization", "Basic !!"))
              .status == 401);
    // A wrong password or an unknown user: 401, and failures count towards the lockout.
    for (int i = 0; i < 5; ++i) {
        const Response wrong = anonymous.get(
            "/metrics",
            AdminRequestOptions().header(
                "Authorization", "Basic " + base64("admin:wrong password " + std::to_string(i))));
        CHECK(wrong.status == 401);
        CHECK_THAT(wrong.header("WWW-Authenticate"), StartsWith("Basic"));
    }
    CHECK(anonymous
              .get("/metrics", AdminRequestOptions().header(
                                   "Authorization", "Basic " + base64("admin:" + admin.password)))
              .status == 429);
}

TEST_CASE("admin API: configuration, with 422s naming the field", "[admin][api]") {
    AdminServer admin;
    AdminClient client = admin.logged_in();
    const json initial = body_of(client.get("/api/v1/config"));
    CHECK(initial["web_proxy"]["enabled"] == true);
    CHECK(initial["web_proxy"]["join_urls"] == json{"https://join.example.com/"});
    CHECK(initial["web_proxy"]["source"] == "configuration file");
    CHECK(initial["admin"]["listen"] == "127.0.0.1:0");
    CHECK(initial["admin"]["bound"] == "127.0.0.1:" + std::to_string(admin.server->port()));
    CHECK(initial["admin"]["source"] == "configuration file");

    struct Bad {
        json body;
        std::string field;
    };
    const std::vector<Bad> cases = {
        {{{"web_proxy", {{"join_urls", {"https://join.example.com/", "ftp://x"}}}}},
         "web_proxy.join_urls[1]"},
        {{{"web_proxy", {{"join_urls", {42}}}}}, "web_proxy.join_urls[0]"},
        {{{"web_proxy", {{"join_urls", "https://a/"}}}}, "web_proxy.join_urls"},
        {{{"web_proxy", {{"enabled", "yes"}}}}, "web_proxy.enabled"},
        {{{"web_proxy", {{"colour", 1}}}}, "web_proxy.colour"},
        {{{"admin", {{"listen", "nonsense"}}}}, "admin.listen"},
        {{{"admin", {{"listen", "127.0.0.1:99999"}}}}, "admin.listen"},
        {{{"admin", {{"listen", "::1:445"}}}}, "admin.listen"},
        {{{"admin", {{"listen", 445}}}}, "admin.listen"},
        {{{"other", 1}}, "other"},
    };
    for (const auto& bad : cases) {
        const Response response = put_json(client, "/api/v1/config", bad.body);
        INFO(bad.body.dump() << " -> " << response.body);
        CHECK(response.status == 422);
        CHECK(body_of(response)["field"] == bad.field);
    }
    CHECK(client.request(http::verb::put, "/api/v1/config", "{nope").status == 400);
    // A valid web_proxy with an invalid admin part changes nothing.
    CHECK(put_json(client, "/api/v1/config",
                   {{"web_proxy", {{"enabled", false}}}, {"admin", {{"listen", "x"}}}})
              .status == 422);
    CHECK(body_of(client.get("/api/v1/config")) == initial);

    const Response changed =
        put_json(client, "/api/v1/config",
                 {{"web_proxy",
                   {{"enabled", false},
                    {"join_urls", {"https://join.example.com/", "https://meet.example.com/"}}}}});
    REQUIRE(changed.status == 200);
    const json after = body_of(changed);
    CHECK(after["web_proxy"]["enabled"] == false);
    CHECK(after["web_proxy"]["join_urls"].size() == 2);
    CHECK(after["web_proxy"]["source"] == "admin");
    CHECK(body_of(client.get("/api/v1/config"))["web_proxy"] == after["web_proxy"]);
    // The rule store audited it, with who and from where.
    const json audit = body_of(client.get("/api/v1/audit"))["entries"];
    REQUIRE_FALSE(audit.empty());
    CHECK(audit[0]["who"] == "admin:admin from 127.0.0.1");
    CHECK(audit[0]["client"] == "127.0.0.1");
    CHECK_THAT(audit[0]["detail"].get<std::string>(), Contains("meet.example.com"));
}

TEST_CASE(
    "admin API: admin.listen rebinds live: the new port answers, the old is closed, an open "
    "connection still gets answers, and the address survives a restart",
    "[admin][api]") {
    AdminServer admin;
    AdminClient client = admin.logged_in();
    const std::uint16_t old_port = admin.server->port();
    HttpsConnection kept(admin.target());
    auto session_request = [&](const TlsTarget& target) {
        return make_request(target, http::verb::get, "/api/v1/session", {},
                            {{"Cookie", client.session_cookie()}});
    };
    REQUIRE(kept.request(session_request(kept.target())).status == 200);

    // An address in use: 422 with the OS's reason, and the old listener is untouched.
    net::io_context io;
    tcp::acceptor busy(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    const std::string busy_address = "127.0.0.1:" + std::to_string(busy.local_endpoint().port());
    const Response in_use =
        put_json(client, "/api/v1/config", {{"admin", {{"listen", busy_address}}}});
    CHECK(in_use.status == 422);
    CHECK(body_of(in_use)["field"] == "admin.listen");
    CHECK_THAT(body_of(in_use)["error"].get<std::string>(), Contains("in use"));
    CHECK(client.get("/api/v1/session").status == 200);

    const std::uint16_t new_port = free_port();
    const std::string address = "127.0.0.1:" + std::to_string(new_port);
    const Response moved = put_json(client, "/api/v1/config", {{"admin", {{"listen", address}}}});
    REQUIRE(moved.status == 200);
    CHECK(body_of(moved)["admin"]["bound"] == address);
    CHECK(body_of(moved)["admin"]["source"] == "admin");
    CHECK(admin.server->port() == new_port);

    TlsTarget moved_target = admin.target();
    CHECK(moved_target.port == new_port);
    AdminClient on_new_port(moved_target);
    CHECK(
        on_new_port
            .get("/api/v1/session", AdminRequestOptions().header("Cookie", client.session_cookie()))
            .status == 200);
    CHECK(wait_until([&] { return connect_refused(old_port); }, 5s));
    // The connection opened before the move is still served.
    CHECK(kept.request(session_request(kept.target())).status == 200);

    const json audit = body_of(on_new_port.get(
        "/api/v1/audit", AdminRequestOptions().header("Cookie", client.session_cookie())));
    REQUIRE_FALSE(audit["entries"].empty());
    CHECK(audit["entries"][0]["action"] == "admin listener moved");
    CHECK(audit["entries"][0]["client"] == "127.0.0.1");

    // The same port on another address: the listener moves too (it has to close first).
    const std::string all_addresses = "0.0.0.0:" + std::to_string(new_port);
    const Response widened =
        put_json(on_new_port, "/api/v1/config", {{"admin", {{"listen", all_addresses}}}},
                 AdminRequestOptions()
                     .no_csrf()
                     .header("Cookie", client.session_cookie())
                     .header("X-CSRF-Token", client.csrf_token()));
    INFO(widened.body);
    CHECK(widened.status == 200);
    CHECK(body_of(widened)["admin"]["bound"] == all_addresses);
    CHECK(admin.server->port() == new_port);
    CHECK(
        on_new_port
            .get("/api/v1/session", AdminRequestOptions().header("Cookie", client.session_cookie()))
            .status == 200);

    // After a restart the address set through the API wins over the file's.
    admin.server->stop();
    admin.start();
    CHECK(admin.server->port() == new_port);
}

TEST_CASE(
    "admin API: certificate upload is checked first, a good one is served to new "
    "connections while old ones keep working",
    "[admin][api]") {
    AdminServer admin;
    AdminClient client = admin.logged_in();
    const json listed = body_of(client.get("/api/v1/certificates"))["certificates"];
    REQUIRE(listed.size() == 3);
    CHECK(listed[0]["name"] == "admin");
    CHECK(listed[1]["name"] == "https");
    CHECK(listed[2]["name"] == "link_ca");
    CHECK_THAT(listed[0]["names"].dump(), Contains("localhost"));
    const std::string old_fingerprint = listed[0]["sha256"];
    CHECK(served_fingerprint(admin.server->port()) == old_fingerprint);
    // The lab certificate does not name join.example.com: the page warns.
    CHECK_THAT(listed[1]["warnings"].dump(), Contains("join.example.com"));

    tls::write_leaf(admin.pki.ca_cert(), admin.pki.ca_key(), admin.dir / "new.pem",
                    admin.dir / "new.key", {"admin-new", {"localhost"}, {"127.0.0.1"}},
                    tls::Usage::server);
    const std::string new_cert = read_file(admin.dir / "new.pem");
    const std::string new_key = read_file(admin.dir / "new.key");
    const std::string other_key = read_file(admin.pki.core_key());
    const std::string ca = read_file(admin.pki.ca_cert());
    const std::string before_cert = read_file(admin.config.certificate);
    const std::string before_key = read_file(admin.config.private_key);

    struct Bad {
        json body;
        std::string field, message;
    };
    const std::vector<Bad> cases = {
        {{{"certificate", "not a certificate"}, {"private_key", new_key}}, "certificate", "PEM"},
        {{{"certificate", new_cert}, {"private_key", other_key}}, "private_key", "does not match"},
        {{{"certificate", new_cert}, {"private_key", "garbage"}}, "private_key", "PEM"},
        {{{"certificate", ca + new_cert}, {"private_key", new_key}}, "certificate", "out of order"},
        {{{"certificate", new_cert + ca}, {"private_key", other_key}},
         "private_key",
         "does not match"},
        {{{"certificate", new_cert + read_file(admin.pki.edge_cert())}, {"private_key", new_key}},
         "certificate",
         "out of order"},
        {{{"certificate", new_cert}}, "private_key", "PEM"},
    };
    HttpsConnection kept(admin.target());
    const auto kept_request = [&] {
        return make_request(kept.target(), http::verb::get, "/api/v1/session", {},
                            {{"Cookie", client.session_cookie()}});
    };
    REQUIRE(kept.request(kept_request()).status == 200);
    for (const auto& bad : cases) {
        const Response response = put_json(client, "/api/v1/certificates/admin", bad.body);
        INFO(response.body);
        CHECK(response.status == 422);
        CHECK(body_of(response)["field"] == bad.field);
        CHECK_THAT(body_of(response)["error"].get<std::string>(), Contains(bad.message));
    }
    CHECK(read_file(admin.config.certificate) == before_cert);
    CHECK(read_file(admin.config.private_key) == before_key);
    CHECK(served_fingerprint(admin.server->port()) == old_fingerprint);

    const Response good = put_json(client, "/api/v1/certificates/admin",
                                   {{"certificate", new_cert}, {"private_key", new_key}});
    REQUIRE(good.status == 200);
    const std::string new_fingerprint = admin::describe_certificate(new_cert).sha256;
    CHECK(body_of(good)["sha256"] == new_fingerprint);
    CHECK(new_fingerprint != old_fingerprint);
    CHECK(served_fingerprint(admin.server->port()) == new_fingerprint);
    CHECK(kept.request(kept_request()).status == 200);
    CHECK(read_file(admin.config.certificate) == new_cert);
    CHECK((fs::status(admin.config.private_key).permissions() & fs::perms::all) ==
          (fs::perms::owner_read | fs::perms::owner_write));
    CHECK(body_of(client.get("/api/v1/certificates"))["certificates"][0]["sha256"] ==
          new_fingerprint);

    // The 443 certificate: written, then the node is told to reload it.
    const Response https = put_json(client, "/api/v1/certificates/https",
                                    {{"certificate", new_cert}, {"private_key", new_key}});
    CHECK(https.status == 200);
    CHECK(read_file(admin.dir / "https.pem") == new_cert);
    {
        std::lock_guard lock(admin.node.mutex);
        CHECK(admin.node.https_reloads == 1);
    }
    CHECK(put_json(client, "/api/v1/certificates/other",
                   {{"certificate", new_cert}, {"private_key", new_key}})
              .status == 404);

    const json audit = body_of(client.get("/api/v1/audit"))["entries"];
    REQUIRE(audit.size() >= 2);
    CHECK(audit[0]["action"] == "certificate replaced");
    CHECK_THAT(audit[0]["detail"].get<std::string>(), StartsWith("https:"));
    CHECK(audit[1]["who"] == "admin:admin from 127.0.0.1");
}

TEST_CASE("admin API: accounts are added, changed and deleted, never the last one",
          "[admin][api]") {
    AdminServer admin;
    AdminClient client = admin.logged_in();
    CHECK(body_of(client.get("/api/v1/accounts"))["accounts"][0]["name"] == "admin");
    CHECK(client.request(http::verb::delete_, "/api/v1/accounts/admin").status == 409);

    const Response short_password =
        client.post_json("/api/v1/accounts", {{"name", "bob"}, {"password", "short"}});
    CHECK(short_password.status == 422);
    CHECK(body_of(short_password)["field"] == "password");
    const Response bad_name =
        client.post_json("/api/v1/accounts", {{"name", "b ob"}, {"password", "long enough pass"}});
    CHECK(bad_name.status == 422);
    CHECK(body_of(bad_name)["field"] == "name");

    const std::string bob_password = "bob's long password";
    REQUIRE(client.post_json("/api/v1/accounts", {{"name", "bob"}, {"password", bob_password}})
                .status == 201);
    CHECK(client.post_json("/api/v1/accounts", {{"name", "bob"}, {"password", bob_password}})
              .status == 409);
    CHECK(body_of(client.get("/api/v1/accounts"))["accounts"].size() == 2);

    AdminClient bob(admin.target());
    REQUIRE(bob.login("bob", bob_password).status == 200);
    const std::string new_password = "bob's newer password";
    CHECK(put_json(client, "/api/v1/accounts/bob", {{"password", "short"}}).status == 422);
    CHECK(put_json(client, "/api/v1/accounts/carol", {{"password", new_password}}).status == 404);
    CHECK(put_json(client, "/api/v1/accounts/bob", {{"password", new_password}}).status == 200);

    // Deleting bob ends his session at once.
    CHECK(client.request(http::verb::delete_, "/api/v1/accounts/bob").status == 200);
    CHECK(bob.get("/api/v1/session").status == 401);
    CHECK(client.request(http::verb::delete_, "/api/v1/accounts/bob").status == 404);
    CHECK(client.request(http::verb::delete_, "/api/v1/accounts/admin").status == 409);

    const json audit = body_of(client.get("/api/v1/audit?limit=10"))["entries"];
    REQUIRE(audit.size() == 3);
    CHECK(audit[0]["action"] == "account deleted");
    CHECK(audit[1]["action"] == "password changed");
    CHECK(audit[2]["action"] == "account added");
    CHECK(audit[2]["detail"] == "bob");
    CHECK(audit[2]["client"] == "127.0.0.1");
    CHECK(audit[2]["who"] == "admin:admin from 127.0.0.1");
    CHECK(client.get("/api/v1/audit?limit=0").status == 422);
    // No password in the audit log or anywhere in admin.db in clear.
    const std::string stored = read_file(admin.dir / "state" / "admin.db") +
                               read_file(admin.dir / "state" / "admin.db-wal");
    CHECK(stored.find(bob_password) == std::string::npos);
    CHECK(stored.find(new_password) == std::string::npos);
}

namespace {

// A self-signed EC certificate valid from now + from_days to now + to_days, as PEM, with its key.
std::pair<std::string, std::string> self_signed(long from_days, long to_days) {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), from_days * 86400);
    X509_gmtime_adj(X509_getm_notAfter(cert), to_days * 86400);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("old.example"), -1, -1, 0);
    X509_set_issuer_name(cert, X509_get_subject_name(cert));
    X509_set_pubkey(cert, key);
    X509_sign(cert, key, EVP_sha256());
    auto pem = [](auto write) {
        BIO* bio = BIO_new(BIO_s_mem());
        write(bio);
        char* data = nullptr;
        const long size = BIO_get_mem_data(bio, &data);
        std::string text(data, static_cast<std::size_t>(size));
        BIO_free(bio);
        return text;
    };
    const std::string cert_pem = pem([&](BIO* bio) { PEM_write_bio_X509(bio, cert); });
    const std::string key_pem = pem([&](BIO* bio) {
        PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
    });
    X509_free(cert);
    EVP_PKEY_free(key);
    return {cert_pem, key_pem};
}

}  // namespace

TEST_CASE("admin API: a CA slot takes CA certificates only, and a CA the node refuses is removed",
          "[admin][api]") {
    AdminServer admin;
    AdminClient client = admin.logged_in();
    const fs::path file = admin.dir / "link-ca.pem";
    json listed = body_of(client.get("/api/v1/certificates"))["certificates"][2];
    CHECK(listed["private_key"] == false);
    CHECK_THAT(listed["error"].get<std::string>(), Contains("cannot be read"));  // not there yet

    // A server certificate is not a CA; nothing is written.
    Response response = put_json(client, "/api/v1/certificates/link_ca",
                                 {{"certificate", read_file(admin.pki.edge_cert())}});
    CHECK(response.status == 422);
    CHECK_THAT(body_of(response)["error"].get<std::string>(), Contains("not a CA certificate"));
    CHECK_FALSE(fs::exists(file));

    // The node refuses it: the file that was not there is removed again.
    const auto set_refusing = [&](bool refuse) {
        std::lock_guard lock(admin.node.mutex);
        admin.node.ca_reload_fails = refuse;
    };
    set_refusing(true);
    response = put_json(client, "/api/v1/certificates/link_ca",
                        {{"certificate", read_file(admin.pki.ca_cert())}});
    CHECK(response.status == 422);
    CHECK_THAT(body_of(response)["error"].get<std::string>(), Contains("the node refused the CA"));
    CHECK_FALSE(fs::exists(file));

    // A CA, no key asked for: written, and the node told to use it.
    set_refusing(false);
    response = put_json(client, "/api/v1/certificates/link_ca",
                        {{"certificate", read_file(admin.pki.ca_cert())}});
    REQUIRE(response.status == 200);
    CHECK(read_file(file) == read_file(admin.pki.ca_cert()));
    {
        std::lock_guard lock(admin.node.mutex);
        CHECK(admin.node.ca_reloads == 1);
    }
    listed = body_of(client.get("/api/v1/certificates"))["certificates"][2];
    CHECK(listed["sha256"] == tls::fingerprint_sha256(admin.pki.ca_cert()));
    CHECK(body_of(client.get("/api/v1/audit"))["entries"][0]["action"] == "certificate replaced");
}

TEST_CASE("admin certificates: an expired or not yet valid certificate is refused",
          "[admin][unit]") {
    const auto [expired, expired_key] = self_signed(-30, -1);
    CHECK_THROWS_WITH(admin::check_certificate_and_key(expired, expired_key),
                      Contains("expired on"));
    const auto [future, future_key] = self_signed(2, 30);
    CHECK_THROWS_WITH(admin::check_certificate_and_key(future, future_key),
                      Contains("not valid before"));
    const auto [good, good_key] = self_signed(-1, 30);
    const auto info = admin::check_certificate_and_key(good, good_key);
    CHECK(info.subject == "CN=old.example");
    CHECK(info.sha256.size() == 32 * 3 - 1);
    CHECK(admin::uncovered_hosts({"*.example.com", "join.example.org"},
                                 {"https://join.example.com/", "https://join.example.org:8443/",
                                  "https://a.b.example.com/"}) ==
          std::vector<std::string>{"a.b.example.com"});
}
