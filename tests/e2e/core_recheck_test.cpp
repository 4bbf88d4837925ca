// The core's own allow-list check ("defence in depth"), seen from a fake edge: the core dials a
// FakeEdge instead of the real edge, so the test can open streams a real edge would refuse
// itself and never send. The core must answer them with its own 403 or 400, log the refusal and
// never pass them to the web bridge, while it still forwards what its rules allow. The fake
// edge also reads the allow-list feed the core serves on every link.
#include "tests/e2e/e2e.hpp"
#include "tests/support/fake_edge.hpp"

#include <algorithm>

using namespace edgeway::test;

namespace {

constexpr auto kTimeout = 15000ms;
constexpr const char* kAutomaticDescription = "Meeting Server web bridges";

ApplianceOptions without_core() {
    ApplianceOptions options;
    options.start_core = false;
    return options;
}

// The appliance's PKI, configs and web bridge (its edge runs too, unused), a FakeEdge, and a
// core configured as the appliance's but dialling the fake edge. The link is up and the core's
// automatic rules (https and wss on the join authority localhost:<edge https port>, which the
// lab resolver sends to the web bridge) are published when the constructor returns.
struct CoreBehindFakeEdge {
    Appliance app{without_core()};
    FakeEdge edge{app.pki()};
    std::unique_ptr<ChildProcess> core;
    std::uint64_t rules_version = 0;

    CoreBehindFakeEdge() {
        json config = app.core_config();
        config["edges"] =
            json::array({{{"address", edge.address()}, {"server_name", "localhost"}}});
        const auto config_file = app.dir() / "core-fake-edge.json";
        write_json(config_file, config);
        core = std::make_unique<ChildProcess>(
            "core", edgeway_binary(),
            std::vector<std::string>{"core", "--config", config_file.string()},
            app.dir() / "core.log");
        edge.accept(kTimeout);
        core->require_log("link up to " + regex_escape(edge.address()), kTimeout);
        // The core serves what its database holds at once (nothing, on a fresh one) and adds the
        // automatic rules when the join URL has resolved: wait for those.
        const auto published =
            core->require_log(R"(allow list version (\d+): 2 automatic and 0 editable)", kTimeout);
        rules_version = std::stoull(published[1]);
    }

    std::string authority() const { return "localhost:" + std::to_string(app.https_port()); }

    // A request stream as the edge would build it; trace is the x-edgeway-trace-id that the
    // core logs it under.
    static HeaderList stream(const std::string& method, const std::string& authority,
                             const std::string& path, const std::string& trace) {
        return {{":method", method},           {":scheme", "https"},
                {":authority", authority},     {":path", path},
                {"x-edgeway-trace-id", trace}, {"x-forwarded-for", "192.0.2.10"}};
    }
};

// The automatic rule of that protocol in a rule set, or null.
const json* automatic_rule(const json& set, const std::string& protocol) {
    for (const auto& rule : set.at("rules"))
        if (rule.value("protocol", "") == protocol && rule.value("origin", "") == "auto")
            return &rule;
    return nullptr;
}

void check_automatic_rule(const json* rule, const CoreBehindFakeEdge& setup) {
    REQUIRE(rule != nullptr);
    INFO(rule->dump());
    CHECK(rule->at("description") == kAutomaticDescription);
    CHECK(rule->at("host") == "localhost");
    CHECK(rule->at("port") == setup.app.https_port());
    CHECK(rule->at("match") == "prefix");
    CHECK(rule->at("path") == "/");
    CHECK(rule->at("methods") == json::array({"GET", "POST", "PUT", "HEAD", "DELETE"}));
}

struct Probe {
    const char* what;
    HeaderList headers;
    unsigned expected;
    std::string trace;      // its x-edgeway-trace-id
    std::string authority;  // as logged
    std::string path;       // as sent and logged, with its probe=N marker
    std::string marker;     // a regular expression for the marker
};

}  // namespace

TEST_CASE("the core serves its versioned rule set on the allow-list feed of a link",
          "[e2e][allowlist]") {
    CoreBehindFakeEdge setup;

    const std::string line = setup.edge.open_feed_and_read_line(kTimeout);
    INFO(line);
    const json set = json::parse(line);
    REQUIRE(set.is_object());
    REQUIRE(set.contains("version"));
    REQUIRE(set.contains("rules"));
    CHECK(set.at("version") == setup.rules_version);
    CHECK(set.at("rules").size() == 2);
    check_automatic_rule(automatic_rule(set, "https"), setup);
    check_automatic_rule(automatic_rule(set, "wss"), setup);

    // A change made with the CLI (another process writing the database) arrives on the same
    // stream as a new line with a higher version.
    const auto result =
        run_program(edgeway_binary(),
                    {"allowlist", "--state-dir", (setup.app.dir() / "core-state").string(), "add",
                     "--protocol", "https", "--host", "localhost", "--port",
                     std::to_string(setup.app.https_port()), "--match", "exact", "--path", "/extra",
                     "--methods", "GET", "--description", "feed test rule"},
                    setup.app.dir() / "cli.log");
    INFO(result.output);
    REQUIRE(result.exit_code == 0);
    const std::string next = setup.edge.next_feed_line(kTimeout);
    INFO(next);
    const json changed = json::parse(next);
    CHECK(changed.at("version").get<std::uint64_t>() > setup.rules_version);
    REQUIRE(changed.at("rules").size() == 3);
    CHECK(changed.at("rules")[2].at("description") == "feed test rule");
    CHECK(changed.at("rules")[2].at("origin") == "operator");
    CHECK(setup.edge.connected());
}

TEST_CASE("the core forwards a link stream that its allow list allows to the web bridge",
          "[e2e][allowlist]") {
    CoreBehindFakeEdge setup;

    const auto response = setup.edge.request(
        CoreBehindFakeEdge::stream("GET", setup.authority(), "/health", "c0e0000000000001"));
    INFO(response.body);
    CHECK(response.status == 200);
    CHECK(response.body == "ok\n");
    CHECK(response.reset_code == 0);
    setup.app.webbridge().require_log(R"(GET /health 200)", kTimeout);
    setup.core->require_log(
        R"(access trace=c0e0000000000001 client=192\.0\.2\.10 method=GET host=)" +
            regex_escape(setup.authority()) + R"( path=/health status=200 )",
        kTimeout);
}

TEST_CASE("the core refuses link streams its allow list refuses even when the edge sends them",
          "[e2e][allowlist]") {
    CoreBehindFakeEdge setup;
    const std::string allowed = setup.authority();
    const std::string other_port = "localhost:" + std::to_string(setup.app.webbridge_port());
    REQUIRE(setup.app.webbridge_port() != setup.app.https_port());

    std::vector<Probe> probes;
    auto add = [&](const char* what, const std::string& method, const std::string& authority,
                   const std::string& path, unsigned expected, HeaderList extra = {}) {
        const std::string n = std::to_string(probes.size() + 1);
        const std::string trace = "c0e1" + std::string(12 - n.size(), '0') + n;
        const std::string full_path =
            path + (path.find('?') == std::string::npos ? "?" : "&") + "probe=" + n;
        HeaderList headers = CoreBehindFakeEdge::stream(method, authority, full_path, trace);
        // Pseudo-headers (:protocol) must precede the regular ones, or the stream is malformed.
        for (auto& header : extra) {
            auto at = headers.end();
            if (header.first.starts_with(':'))
                at = std::find_if(headers.begin(), headers.end(),
                                  [](const auto& h) { return !h.first.starts_with(':'); });
            headers.insert(at, std::move(header));
        }
        probes.push_back({what, std::move(headers), expected, trace, authority, full_path,
                          "probe=" + n + R"(\b)"});
    };
    // Authorities the rules do not name. The lab resolver sends localhost, whatever the port,
    // to the web bridge: without its own check the core would forward those there.
    add("another host", "GET", "intranet.example.test", "/health", 403);
    add("another host with the join port", "GET",
        "intranet.example.test:" + std::to_string(setup.app.https_port()), "/health", 403);
    add("another port of the join host", "GET", other_port, "/health", 403);
    add("the join host on the default port", "GET", "localhost", "/health", 403);
    // Methods the automatic rules leave out.
    add("PATCH", "PATCH", allowed, "/health", 403);
    add("OPTIONS", "OPTIONS", allowed, "/health", 403);
    // Paths that cannot be normalised safely.
    add("encoded dot-dot", "GET", allowed, "/a/%2e%2e/admin?m=1", 400);
    add("encoded dot-dot, upper case", "GET", allowed, "/a/%2E%2E/health", 400);
    add("encoded slash", "GET", allowed, "/a%2fb/health", 400);
    add("encoded backslash", "GET", allowed, "/a%5c..%5chealth", 400);
    // A WebSocket (RFC 8441 extended CONNECT) to a host the wss rule does not name.
    add("WebSocket to another host", "CONNECT", "intranet.example.test", "/ws/echo", 403,
        {{":protocol", "websocket"}, {"sec-websocket-version", "13"}});
    add("WebSocket to another port", "CONNECT", other_port, "/ws/echo", 403,
        {{":protocol", "websocket"}, {"sec-websocket-version", "13"}});

    for (const auto& probe : probes) {
        INFO(probe.what << ": " << probe.path);
        const auto response = setup.edge.request(probe.headers);
        INFO(response.body);
        CHECK(response.reset_code == 0);
        CHECK(response.status == probe.expected);
        if (response.status != probe.expected) continue;  // report every probe, then the leaks
        CHECK_THAT(response.body, Contains("This address is not open to the outside."));
        // The refusal is the core's, with the request's trace id.
        setup.core->require_log(
            "refused trace=" + probe.trace + " host=" + regex_escape(probe.authority) + " path=" +
                regex_escape(probe.path) + " status=" + std::to_string(probe.expected) + ": .+",
            kTimeout);
    }

    // The link still works; once a later allowed request is in the web bridge's log, no refused
    // one can be on its way there any more.
    const auto after = setup.edge.request(
        CoreBehindFakeEdge::stream("GET", allowed, "/health?probe=after", "c0e1ffffffffffff"));
    CHECK(after.status == 200);
    setup.app.webbridge().require_log(R"(GET /health\?probe=after 200)", kTimeout);
    for (const auto& probe : probes) {
        INFO(probe.what);
        CHECK(setup.app.webbridge().log().count(probe.marker) == 0);
    }
    CHECK(setup.core->log().count(R"(upstream error)") == 0);
    CHECK(setup.edge.connected());
}
