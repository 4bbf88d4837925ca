// The HTTP allow list through the running appliance: bypass attempts refused at the edge (and
// never seen inside), automatic rules that follow the join URL's resolution, and operator rules
// that reach every edge within a second and survive a core restart.
#include "tests/e2e/e2e.hpp"

#include <fstream>

using namespace edgeway::test;

namespace {

// Runs `edgeway allowlist --state-dir DIR ARGS...` and requires it to succeed.
std::string allowlist_cli(const Appliance& app, std::vector<std::string> args) {
    args.insert(args.begin(), {"allowlist", "--state-dir", (app.dir() / "core-state").string()});
    const auto result = run_program(edgeway_binary(), args, app.dir() / "cli.log");
    INFO(result.output);
    REQUIRE(result.exit_code == 0);
    return result.output;
}

std::string authority(const Appliance& app) {
    return "localhost:" + std::to_string(app.https_port());
}

// An appliance whose join URL does not resolve (no automatic rules), with operator rules that
// open a small part of the web bridge: /public/ (GET, HEAD), /health and /echo-headers (GET),
// and the WebSocket echo.
std::unique_ptr<Appliance> restricted_appliance() {
    ApplianceOptions options;
    options.start_core = false;
    options.core_patch = {{"join_url", "https://join.edgeway.test/"}};
    auto app = std::make_unique<Appliance>(options);
    const std::string port = std::to_string(app->https_port());
    auto add = [&](std::string protocol, std::string match, std::string path, std::string methods) {
        allowlist_cli(
            *app, {"add", "--protocol", protocol, "--host", "localhost", "--port", port, "--match",
                   match, "--path", path, "--methods", methods, "--description", "test rule"});
    };
    add("https", "prefix", "/public/", "GET,HEAD");
    add("https", "exact", "/health", "GET");
    add("https", "exact", "/echo-headers", "GET");
    add("wss", "exact", "/ws/echo", "GET");
    app->start_core();
    return app;
}

struct Attempt {
    const char* what;
    std::string request;  // {A} stands for the join authority localhost:<port>
    unsigned expected;
    std::string sni = "localhost";
};

std::string expand(std::string text, const std::string& authority) {
    for (auto pos = text.find("{A}"); pos != std::string::npos; pos = text.find("{A}"))
        text.replace(pos, 3, authority);
    return text;
}

// A GET with the usual headers; `target` carries a bypass=N marker so that the inside logs can
// be searched for it.
std::string get(const std::string& target, const std::string& extra = {}) {
    return "GET " + target + " HTTP/1.1\r\nHost: {A}\r\n" + extra + "Connection: close\r\n\r\n";
}

std::vector<Attempt> bypass_attempts() {
    const std::string ws =
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    return {
        // Path traversal and dot segments.
        {"dot-dot out of an allowed prefix", get("/public/../admin?bypass=1"), 403},
        {"dot then dot-dot", get("/public/./../admin?bypass=2"), 403},
        {"encoded dot-dot", get("/public/%2e%2e/admin?bypass=3"), 400},
        {"encoded dot-dot, upper case", get("/public/%2E%2E/admin?bypass=4"), 400},
        {"half-encoded dot-dot", get("/public/.%2e/admin?bypass=5"), 400},
        {"other half encoded", get("/public/%2e./admin?bypass=6"), 400},
        {"dot-dot with encoded slash", get("/public/..%2fadmin?bypass=7"), 400},
        {"encoded slash", get("/public/%2fadmin?bypass=8"), 400},
        {"encoded slashes around dot-dot", get("/public/%2F..%2Fadmin?bypass=9"), 400},
        {"encoded backslash", get("/public/..%5cadmin?bypass=10"), 400},
        {"raw backslash", get("/public/..\\admin?bypass=11"), 400},
        {"encoded NUL before dot-dot", get("/public/%00/../admin?bypass=12"), 400},
        {"encoded NUL", get("/public/a%00b?bypass=13"), 400},
        {"invalid escape", get("/public/a%zz?bypass=14"), 400},
        {"truncated escape", get("/public/a%2?bypass=15"), 400},
        {"overlong UTF-8 dots", get("/public/%c0%ae%c0%ae/admin?bypass=16"), 400},
        {"invalid UTF-8", get("/public/%ff?bypass=17"), 400},
        {"Tomcat path parameter dot-dot", get("/public/..;/admin?bypass=18"), 400},
        {"Tomcat path parameter dot", get("/public/.;/admin?bypass=19"), 400},
        {"climbing above the root", get("/../admin?bypass=20"), 400},
        {"climbing above the root from a prefix", get("/public/../../admin?bypass=21"), 400},
        {"double slash", get("//admin?bypass=22"), 403},
        {"slashes and dot-dot", get("///public/../admin?bypass=23"), 403},
        {"plain forbidden path", get("/admin?bypass=24"), 403},
        {"paths are case-sensitive", get("/Public/x?bypass=25"), 403},
        {"prefix without its slash", get("/publicx?bypass=26"), 403},
        {"exact rule, trailing slash", get("/health/?bypass=27"), 403},
        {"exact rule, trailing dot segment", get("/health/.?bypass=28"), 403},
        {"fragment in the target", get("/public/x#frag?bypass=29"), 400},
        {"encoded CR LF", get("/public/%0d%0aSet-Cookie:%20x?bypass=30"), 400},
        {"raw non-ASCII byte", get("/public/\xc3\xa9?bypass=31"), 400},
        {"NUL in the query", get("/public/x?bypass=32&a=%00"), 400},
        // Request-target forms.
        {"asterisk form", "OPTIONS * HTTP/1.1\r\nHost: {A}\r\nConnection: close\r\n\r\n", 400},
        {"absolute form to a forbidden path", get("https://{A}/admin?bypass=33"), 403},
        {"absolute form with dot-dot", get("https://{A}/public/../admin?bypass=34"), 403},
        {"absolute form naming another host",
         get("https://intranet.example.test/public/x?bypass=35"), 400},
        {"absolute form with plain http", get("http://{A}/public/x?bypass=36"), 400},
        {"authority form with GET", get("{A}"), 400},
        // Methods.
        {"CONNECT", "CONNECT intranet.example.test:443 HTTP/1.1\r\nHost: {A}\r\n\r\n", 405},
        {"TRACE", "TRACE /public/x?bypass=37 HTTP/1.1\r\nHost: {A}\r\nConnection: close\r\n\r\n",
         405},
        {"lower-case method", "get /public/x?bypass=38 HTTP/1.1\r\nHost: {A}\r\n\r\n", 405},
        {"WebDAV method", "PROPFIND /public/x?bypass=39 HTTP/1.1\r\nHost: {A}\r\n\r\n", 405},
        {"method the rule does not allow",
         "DELETE /public/x?bypass=40 HTTP/1.1\r\nHost: {A}\r\nConnection: close\r\n\r\n", 403},
        {"POST to a GET-only prefix",
         "POST /public/x?bypass=41 HTTP/1.1\r\nHost: {A}\r\nContent-Length: 0\r\n"
         "Connection: close\r\n\r\n",
         403},
        // Host and SNI.
        {"Host of another site under our SNI",
         "GET /public/x?bypass=42 HTTP/1.1\r\nHost: intranet.example.test\r\n"
         "Connection: close\r\n\r\n",
         421},
        {"SNI of another site", get("/public/x?bypass=43"), 421, "intranet.example.test"},
        {"missing Host", "GET /public/x?bypass=44 HTTP/1.1\r\nConnection: close\r\n\r\n", 400},
        {"two Host headers", get("/public/x?bypass=45", "Host: intranet.example.test\r\n"), 400},
        {"userinfo in Host",
         "GET /public/x?bypass=46 HTTP/1.1\r\nHost: {A}@intranet.example.test\r\n\r\n", 400},
        {"port out of range", "GET /public/x?bypass=47 HTTP/1.1\r\nHost: localhost:99999\r\n\r\n",
         400},
        {"another port", "GET /public/x?bypass=48 HTTP/1.1\r\nHost: localhost:1\r\n\r\n", 403},
        // Message framing (request smuggling).
        {"Content-Length and Transfer-Encoding",
         "POST /public/x?bypass=49 HTTP/1.1\r\nHost: {A}\r\nContent-Length: 4\r\n"
         "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
         400},
        {"Transfer-Encoding twice",
         "POST /public/x?bypass=50 HTTP/1.1\r\nHost: {A}\r\nTransfer-Encoding: chunked\r\n"
         "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
         400},
        {"Transfer-Encoding other than chunked",
         "POST /public/x?bypass=51 HTTP/1.1\r\nHost: {A}\r\nTransfer-Encoding: gzip, chunked"
         "\r\n\r\n0\r\n\r\n",
         400},
        {"two different Content-Lengths",
         "POST /public/x?bypass=52 HTTP/1.1\r\nHost: {A}\r\nContent-Length: 1\r\n"
         "Content-Length: 2\r\n\r\nab",
         400},
        {"negative Content-Length",
         "POST /public/x?bypass=53 HTTP/1.1\r\nHost: {A}\r\nContent-Length: -1\r\n\r\n", 400},
        {"HTTP/1.0", "GET /public/x?bypass=54 HTTP/1.0\r\nHost: {A}\r\n\r\n", 505},
        // WebSocket.
        {"upgrade where only https is allowed", get("/public/x?bypass=55", ws), 403},
        {"plain GET where only wss is allowed", get("/ws/echo?bypass=56"), 403},
    };
}

}  // namespace

TEST_CASE("bypass attempts are refused at the edge and never reach the inside",
          "[e2e][allowlist]") {
    auto app = restricted_appliance();
    const std::string join = authority(*app);
    const auto attempts = bypass_attempts();
    REQUIRE(attempts.size() >= 50);

    for (const auto& attempt : attempts) {
        INFO(attempt.what << ": " << expand(attempt.request, join));
        TlsTarget target = app->target();
        if (attempt.sni != "localhost") {
            target.server_name = attempt.sni;
            target.ca_file = "";  // our certificate does not cover it; an attacker ignores that
        }
        RawExchange exchange;
        exchange.first = expand(attempt.request, join);
        const auto result = raw_tls_exchange(target, exchange);
        REQUIRE(result.handshake_ok);
        CHECK(result.status() == attempt.expected);
    }

    // The controls pass, so the rules are in force and the inside logs are complete up to here.
    CHECK(https_get(app->target(), "/health?control=1").status == 200);
    CHECK(https_get(app->target(), "/public/%70age?control=2").status == 404);  // decoded 'p'
    app->webbridge().require_log(R"(GET /public/page\?control=2 404)", 5s);
    CHECK(app->webbridge().log().count("bypass=") == 0);
    CHECK(app->core().log().count("bypass=") == 0);
    // Every refusal is logged with its reason.
    CHECK(app->edge().log().count(R"(refused trace=\S+ .*bypass=1 status=403: no rule matches)") ==
          1);
    CHECK(app->edge().log().count(R"(refused trace=\S+ .*bypass=3 status=400: )") == 1);
}

TEST_CASE("refused requests get a short page and keep-alive where safe", "[e2e][allowlist]") {
    auto app = restricted_appliance();
    HttpsConnection connection(app->target());
    const auto refused = connection.get("/admin");
    CHECK(refused.status == 403);
    CHECK_THAT(refused.header("content-type"), StartsWith("text/html"));
    CHECK_THAT(refused.body, Contains("403"));
    // The same connection carries on: a refusal is not an error of the connection.
    CHECK(connection.get("/health").status == 200);
}

TEST_CASE("forwarding and control headers from the client are not passed on", "[e2e][allowlist]") {
    auto app = restricted_appliance();
    const auto response =
        https_get(app->target(), "/echo-headers",
                  {{"X-Forwarded-For", "203.0.113.9"}, {"X-Edgeway-Control", "allowlist"}});
    REQUIRE(response.status == 200);
    CHECK_THAT(response.body, !Contains("203.0.113.9"));
    CHECK_THAT(response.body, !Contains("x-edgeway-control"));
}

TEST_CASE("WebSocket upgrades follow wss rules only", "[e2e][allowlist]") {
    auto app = restricted_appliance();
    WebSocketClient ws(app->target(), "/ws/echo");
    ws.send_text("through a wss rule");
    CHECK(ws.read().data == "through a wss rule");
    REQUIRE_THROWS_WITH(WebSocketClient(app->target(), "/public/socket"),
                        Contains("HTTP status 403"));
}

TEST_CASE("an edge that has no allow list refuses everything with 503", "[e2e][allowlist]") {
    ApplianceOptions options;
    options.start_core = false;
    Appliance app(options);
    CHECK(https_get(app.target(), "/health").status == 503);
    app.edge().require_log(R"(refused trace=\S+ .*status=503: no allow list received)", 5s);
}

TEST_CASE("automatic rules follow the join URL's resolution without a restart",
          "[e2e][allowlist]") {
    ApplianceOptions options;
    options.start_core = false;
    Appliance app(options);
    const auto hosts = app.dir() / "lab-hosts";
    const std::string webbridge = "127.0.0.1:" + std::to_string(app.webbridge_port());
    auto write_hosts = [&](const std::string& text) {
        std::ofstream(hosts, std::ios::trunc) << text;
    };
    write_hosts("# lab inside DNS\n" + webbridge + " localhost\n");
    // Only the hosts file answers now; the static resolve entry is gone.
    json core = app.core_config();
    core.erase("resolve");
    core["hosts_file"] = hosts.string();
    core["discovery_interval_ms"] = 100;
    write_json(app.dir() / "core-hosts.json", core);
    ChildProcess core_process("core", edgeway_binary(),
                              {"core", "--config", (app.dir() / "core-hosts.json").string()},
                              app.dir() / "core.log");
    core_process.require_log(
        R"(guest account client URI https://localhost:\d+/ resolved to the following targets: )"
        R"(localhost 127\.0\.0\.1:\d+)",
        15s);
    app.edge().require_log(R"(allow list version \d+ applied \(2 automatic and 0 editable)", 15s);
    CHECK(https_get(app.target(), "/health").status == 200);

    // A hosts file that cannot be read as one is a failure to resolve: the last good rules stay.
    write_hosts("not-an-address localhost\n");
    core_process.require_log(R"(resolution failed \(.*line 1.*\); keeping its last good rules)",
                             5s);
    CHECK(https_get(app.target(), "/health").status == 200);

    // The name no longer exists: its rules go, on the edge too, without a restart.
    write_hosts("# empty\n");
    core_process.require_log(R"(localhost does not resolve; its automatic rules are removed)", 5s);
    app.edge().require_log(R"(allow list version \d+ applied \(0 automatic and 0 editable)", 5s);
    CHECK(https_get(app.target(), "/health").status == 403);

    write_hosts(webbridge + " localhost\n");
    app.edge().require_log(R"(allow list version \d+ applied \(2 automatic and 0 editable)", 5s, 2);
    CHECK(https_get(app.target(), "/health").status == 200);

    const std::string listed = allowlist_cli(app, {"list"});
    CHECK_THAT(listed, Contains("Meeting Server web bridges"));
    CHECK_THAT(listed, Contains("127.0.0.1:" + std::to_string(app.webbridge_port())));
}

TEST_CASE("an operator rule reaches two edges within a second and survives a core restart",
          "[e2e][allowlist]") {
    ApplianceOptions options;
    options.start_core = false;
    options.core_patch = {{"join_url", "https://join.edgeway.test/"}};
    Appliance app(options);

    // A second edge on the same port of another loopback address: both are "localhost:<port>"
    // to a browser, as two edges behind one name are.
    json edge2_config = app.edge_config();
    edge2_config["listen"]["https"] = "127.0.0.2:" + std::to_string(app.https_port());
    edge2_config["listen"]["http_redirect"] = "127.0.0.2:0";
    edge2_config["listen"]["link"] = "127.0.0.2:0";
    write_json(app.dir() / "edge2.json", edge2_config);
    ChildProcess edge2("edge2", edgeway_binary(),
                       {"edge", "--config", (app.dir() / "edge2.json").string()},
                       app.dir() / "edge2.log");
    const auto link2 = port_of(edge2.require_log(R"(link listening on 127\.0\.0\.2:(\d+))", 15s));

    json core_config = app.core_config();
    core_config["edges"].push_back(
        {{"address", "127.0.0.2:" + std::to_string(link2)}, {"server_name", "localhost"}});
    write_json(app.dir() / "core-two-edges.json", core_config);
    auto start_core = [&](const std::string& name) {
        return std::make_unique<ChildProcess>(
            name, edgeway_binary(),
            std::vector<std::string>{"core", "--config",
                                     (app.dir() / "core-two-edges.json").string()},
            app.dir() / (name + ".log"));
    };
    auto core = start_core("core-1");
    const std::string applied = "allow list version " +
                                core->require_log(Appliance::kCoreRulesCurrent, 15s)[1] +
                                " applied";
    app.edge().require_log(applied, 15s);
    edge2.require_log(applied, 15s);

    TlsTarget first = app.target();
    TlsTarget second = app.target();
    second.address = "127.0.0.2";
    CHECK(https_get(first, "/health").status == 403);
    CHECK(https_get(second, "/health").status == 403);

    allowlist_cli(app, {"add", "--protocol", "https", "--host", "localhost", "--port",
                        std::to_string(app.https_port()), "--match", "exact", "--path", "/health",
                        "--methods", "GET", "--description", "health checks"});
    const auto added = Clock::now();
    CHECK(wait_until(
        [&] {
            return https_get(first, "/health").status == 200 &&
                   https_get(second, "/health").status == 200;
        },
        5s, 10ms));
    const double ms = elapsed_ms(added);
    INFO("the rule took " << ms << " ms to reach both edges");
    CHECK(ms < 1000);

    // Restarted, the core serves the same rules from its database.
    CHECK(core->terminate() == 0);
    core = start_core("core-2");
    core->require_log(R"(allow list version \d+: 0 automatic and 1 editable rules)", 15s);
    core->require_log(Appliance::kCoreLinkUp, 15s, 2);
    CHECK(wait_until(
        [&] {
            return https_get(first, "/health").status == 200 &&
                   https_get(second, "/health").status == 200;
        },
        15s));
    CHECK_THAT(allowlist_cli(app, {"list"}), Contains("health checks"));

    // Removing it closes the path on both edges again.
    const std::string id = [&] {
        const std::string listed = allowlist_cli(app, {"list", "--json"});
        const auto rules = json::parse(listed.substr(listed.find('{')))["editable"];
        REQUIRE(rules.size() == 1);
        return std::to_string(rules[0]["id"].get<int>());
    }();
    allowlist_cli(app, {"remove", id});
    CHECK(wait_until(
        [&] {
            return https_get(first, "/health").status == 403 &&
                   https_get(second, "/health").status == 403;
        },
        5s, 10ms));
}
