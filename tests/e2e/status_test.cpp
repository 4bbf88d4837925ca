// What the admin servers of the edge and the core show of the running appliance: the traversal
// links (Active, then Failed with the reason), recent and refused requests, /metrics; and that
// nothing of the administration ever answers on the browsers' 443.
#include "tests/e2e/e2e.hpp"
#include "tests/support/admin_appliance.hpp"

#include <openssl/evp.h>

using namespace edgeway::test;

TEST_CASE("nothing of the administration answers on the browsers' 443") {
    AdminApplianceOptions options;
    options.edge_admin = true;
    AdminAppliance admin(options);
    const TlsTarget browser = admin.app().target();
    // Allowed by the automatic rule (prefix /), so these reach the web bridge, which knows none
    // of them: the edge has no admin route on 443 to answer first.
    for (const std::string path :
         {"/login", "/rules", "/api/v1/session", "/api/v1/status/links", "/api/v1/rules",
          "/metrics", "/assets/app.css", "/assets/common.js"}) {
        INFO(path);
        const Response response = https_get(browser, path);
        CHECK(response.status == 404);
        CHECK(response.body == "not found\n");
        CHECK(response.header("Set-Cookie").empty());
        // The web bridge answered it: the core forwarded it there.
        admin.app().core().require_log(access_line(path), 5s);
    }
    // While the same paths answer on the admin ports.
    for (const auto& target : {admin.core_target(), admin.edge_target()}) {
        const Response login = https_get(target, "/login");
        CHECK(login.status == 200);
        CHECK_THAT(login.body, Contains("Edgeway administration"));
    }
}

namespace {

std::string basic_credentials(const std::string& user, const std::string& password) {
    const std::string text = user + ":" + password;
    std::string out(4 * ((text.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(text.data()),
                                  static_cast<int>(text.size()));
    out.resize(static_cast<std::size_t>(n));
    return "Basic " + out;
}

json get_json(AdminClient& client, const std::string& path) {
    const Response response = client.get(path);
    INFO(path << ": status " << response.status << " body " << response.body);
    REQUIRE(response.status == 200);
    return json::parse(response.body);
}

// The single row of a node's link status, once `accept` says it is the wanted one.
json wait_link_row(AdminClient& client, const std::function<bool(const json&)>& accept,
                   Millis timeout) {
    json last;
    const bool seen = wait_until(
        [&] {
            last = get_json(client, "/api/v1/status/links")["links"];
            return last.size() == 1 && accept(last[0]);
        },
        timeout, 100ms);
    INFO("last answer: " << last.dump());
    REQUIRE(seen);
    return last[0];
}

bool state_is(const json& row, const char* state) {
    return row["state"] == state;
}

}  // namespace

TEST_CASE(
    "the link status shows the link Active on both nodes, then Failed with the reason, "
    "then Active again") {
    constexpr int kDeadAfterMs = 1500;
    AdminApplianceOptions options;
    options.edge_admin = true;
    options.appliance.via_relay = true;
    options.appliance.edge_patch = {
        {"link", {{"ping_interval_ms", 300}, {"dead_after_ms", kDeadAfterMs}}}};
    options.appliance.core_patch = {{"link",
                                     {{"ping_interval_ms", 300},
                                      {"dead_after_ms", kDeadAfterMs},
                                      {"reconnect_min_ms", 100},
                                      {"reconnect_max_ms", 500}}}};
    AdminAppliance admin(options);
    Appliance& app = admin.app();
    AdminClient core = admin.core_admin();
    AdminClient edge = admin.edge_admin();

    const json core_row = wait_link_row(
        core, [](const json& r) { return state_is(r, "Active"); }, 5s);
    CHECK(core_row["peer"] == "127.0.0.1:" + std::to_string(app.relay().port()));
    CHECK(core_row["name"] == "localhost");
    CHECK(core_row["domains"] == json::array({"localhost"}));
    CHECK(core_row["reason"] == "");
    const json edge_row = wait_link_row(
        edge, [](const json& r) { return state_is(r, "Active"); }, 5s);
    CHECK_THAT(edge_row["peer"].get<std::string>(), StartsWith("127.0.0.1:"));
    CHECK(edge_row["domains"] == json::array({"localhost"}));  // the allow list's hosts

    // A request through 443 is one more stream over the link, with bytes both ways.
    REQUIRE(https_get(app.target(), "/health").status == 200);
    const json after = wait_link_row(
        edge,
        [&](const json& r) {
            return r["streams_total"].get<std::uint64_t>() >
                   edge_row["streams_total"].get<std::uint64_t>();
        },
        5s);
    CHECK(after["bytes_in"].get<std::uint64_t>() > edge_row["bytes_in"].get<std::uint64_t>());
    CHECK(after["bytes_out"].get<std::uint64_t>() > edge_row["bytes_out"].get<std::uint64_t>());
    CHECK(after["streams_open"] == 1);  // the allow-list feed stays open

    // The link goes silent: both nodes declare it dead and say why; the core cannot redial
    // through the frozen relay either, so its row stays Failed since the first failure.
    app.relay().freeze();
    const json core_failed = wait_link_row(
        core, [](const json& r) { return state_is(r, "Failed"); }, 10s);
    CHECK_THAT(core_failed["reason"].get<std::string>(), Contains("keepalive timeout"));
    const json edge_failed = wait_link_row(
        edge, [](const json& r) { return state_is(r, "Failed"); }, 10s);
    CHECK_THAT(edge_failed["reason"].get<std::string>(), Contains("keepalive timeout"));
    CHECK(edge_failed["streams_open"] == 0);
    CHECK(edge_failed["streams_total"] == after["streams_total"]);  // what it carried stays
    CHECK(edge_failed["name"] == edge_row["name"]);
    const auto again = get_json(core, "/api/v1/status/links")["links"];
    CHECK(again[0]["since"] == core_failed["since"]);

    // Back: one Active row on each node again (the edge drops the Failed row of that core).
    app.relay().unfreeze();
    wait_link_row(
        core, [](const json& r) { return state_is(r, "Active"); }, 15s);
    wait_link_row(
        edge, [](const json& r) { return state_is(r, "Active"); }, 15s);
    CHECK(https_get(app.target(), "/health").status == 200);
}

TEST_CASE(
    "refused requests are listed with their reason on the edge, forwarded ones on both "
    "nodes, and counted in /metrics") {
    AdminApplianceOptions options;
    options.edge_admin = true;
    AdminAppliance admin(options);
    Appliance& app = admin.app();
    AdminClient core = admin.core_admin();
    AdminClient edge = admin.edge_admin();

    TlsTarget other_host = app.target();
    other_host.ca_file.clear();  // the lab certificate names localhost only
    other_host.server_name = "intranet.example.com";
    REQUIRE(https_get(other_host, "/payroll").status == 403);
    REQUIRE(https_get(app.target(), "/health").status == 200);

    const json refused = get_json(edge, "/api/v1/logs?refused=1")["requests"];
    REQUIRE(refused.size() == 1);
    CHECK(refused[0]["path"] == "/payroll");
    CHECK(refused[0]["status"] == 403);
    CHECK(refused[0]["refusal"] == "no_rule");
    CHECK_THAT(refused[0]["detail"].get<std::string>(), Contains("intranet.example.com"));
    CHECK_THAT(refused[0]["client"].get<std::string>(), StartsWith("127.0.0.1"));

    const json forwarded = get_json(edge, "/api/v1/logs?status=200&q=health")["requests"];
    REQUIRE(forwarded.size() == 1);
    CHECK(forwarded[0]["refused"] == false);
    CHECK(forwarded[0]["bytes_out"].get<std::uint64_t>() > 0);
    // The core saw only what the edge let through.
    const json inside = get_json(core, "/api/v1/logs")["requests"];
    REQUIRE(inside.size() == 1);
    CHECK(inside[0]["path"] == "/health");
    CHECK(inside[0]["status"] == 200);

    // Scraped as Prometheus does it: HTTP Basic, no session.
    AdminClient scraper(admin.edge_target());
    const Response metrics = scraper.get(
        "/metrics", AdminRequestOptions().header(
                        "Authorization", basic_credentials("admin", admin.edge_password())));
    REQUIRE(metrics.status == 200);
    INFO(metrics.body);
    CHECK_THAT(metrics.body, Contains("edgeway_refused_total{reason=\"no_rule\"} 1\n"));
    CHECK_THAT(metrics.body, Contains("edgeway_requests_total{status=\"200\"} 1\n"));
    CHECK_THAT(metrics.body, Contains("# TYPE edgeway_link_up gauge"));
    CHECK(metrics.body.find("} 1\n", metrics.body.find("edgeway_link_up{")) != std::string::npos);

    // Each node says which pages it has: the allow list is the core's only.
    const json core_node = get_json(core, "/api/v1/node");
    CHECK(core_node["role"] == "core");
    CHECK(core_node["features"]["rules"] == true);
    const json edge_node = get_json(edge, "/api/v1/node");
    CHECK(edge_node["role"] == "edge");
    CHECK(edge_node["features"]["rules"] == false);
    CHECK(edge_node["features"]["links"] == true);
}
