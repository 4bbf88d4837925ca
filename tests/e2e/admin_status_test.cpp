// The status, logs and metrics API against the real appliance processes: what the edge refused
// shows in the edge's logs and /metrics (HTTP Basic, as Prometheus scrapes it), and both admins
// report the traversal link Active.
#include "tests/e2e/e2e.hpp"
#include "tests/support/admin_appliance.hpp"

#include <openssl/evp.h>

using namespace edgeway::test;

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

}  // namespace

TEST_CASE(
    "admin status on the appliance: the edge's refusals in its logs and /metrics, the link "
    "Active on both sides",
    "[e2e][admin]") {
    AdminApplianceOptions options;
    options.edge_admin = true;
    // The join URL does not resolve: no automatic rules, so the edge refuses everything.
    options.appliance.core_patch = {{"join_url", "https://join.edgeway.test/"}};
    AdminAppliance admin(options);
    REQUIRE(https_get(admin.app().target(), "/refused-here").status == 403);

    AdminClient edge = admin.edge_admin();
    json rows;
    CHECK(wait_until(
        [&] {
            rows = json::parse(edge.get("/api/v1/logs?refused=1&q=refused-here").body)["requests"];
            return !rows.empty();
        },
        5s));
    REQUIRE(rows.size() == 1);
    CHECK(rows[0]["status"] == 403);
    CHECK(rows[0]["refusal"] == "no_rule");
    CHECK(rows[0]["path"] == "/refused-here");

    const json edge_links = json::parse(edge.get("/api/v1/status/links").body)["links"];
    REQUIRE(edge_links.size() == 1);
    CHECK(edge_links[0]["state"] == "Active");

    AdminClient scraper(admin.edge_target());
    const Response metrics = scraper.get(
        "/metrics", AdminRequestOptions().header(
                        "Authorization", basic_credentials("admin", admin.edge_password())));
    REQUIRE(metrics.status == 200);
    INFO(metrics.body);
    CHECK_THAT(metrics.body, Contains("edgeway_requests_total{status=\"403\"} "));
    CHECK_THAT(metrics.body, Contains("edgeway_refused_total{reason=\"no_rule\"} "));
    CHECK_THAT(metrics.body, Contains("# TYPE edgeway_link_up gauge"));
    CHECK(metrics.body.find("} 1\n", metrics.body.find("edgeway_link_up{")) != std::string::npos);

    AdminClient core = admin.core_admin();
    const json core_links = json::parse(core.get("/api/v1/status/links").body)["links"];
    REQUIRE_FALSE(core_links.empty());
    CHECK(core_links[0]["state"] == "Active");
    const json node = json::parse(core.get("/api/v1/node").body);
    CHECK(node["role"] == "core");
    CHECK(node["features"]["rules"] == true);
    CHECK(json::parse(edge.get("/api/v1/node").body)["features"]["rules"] == false);
}
