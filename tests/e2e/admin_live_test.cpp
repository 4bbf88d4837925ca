// Changes made in the admin API that the running appliance applies at once, with no restart and
// no dropped connection: the web proxy switched off and on, new guest account client URIs, and a
// new 443 certificate uploaded on the edge.
#include "tests/e2e/e2e.hpp"
#include "tests/support/admin_appliance.hpp"

#include <fstream>
#include <sstream>

using namespace edgeway::test;
namespace fs = std::filesystem;

namespace {

std::string file_text(const fs::path& file) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

Response put_json(AdminClient& client, const std::string& path, const json& body) {
    return client.request(http::verb::put, path, body.dump());
}

unsigned status_of(const TlsTarget& target, const std::string& path) {
    try {
        return https_get(target, path).status;
    } catch (const std::exception&) {
        return 0;
    }
}

}  // namespace

TEST_CASE("the web proxy switched off in the admin closes 443 within a second, and on opens it") {
    AdminAppliance admin;
    Appliance& app = admin.app();
    AdminClient core = admin.core_admin();
    REQUIRE(https_get(app.target(), "/health").status == 200);

    const json off = {{"web_proxy", {{"enabled", false}}}};
    const Response disabled = put_json(core, "/api/v1/config", off);
    INFO(disabled.body);
    REQUIRE(disabled.status == 200);
    CHECK(json::parse(disabled.body)["web_proxy"]["enabled"] == false);
    CHECK(json::parse(disabled.body)["web_proxy"]["source"] == "admin");
    auto closed = Clock::now();
    CHECK(wait_until([&] { return status_of(app.target(), "/health") == 403; }, 3s));
    CHECK(elapsed_ms(closed) < 1500);
    app.core().require_log("web proxy DISABLED by an administrator", 5s);

    REQUIRE(put_json(core, "/api/v1/config", {{"web_proxy", {{"enabled", true}}}}).status == 200);
    closed = Clock::now();
    CHECK(wait_until([&] { return status_of(app.target(), "/health") == 200; }, 3s));
    CHECK(elapsed_ms(closed) < 1500);

    // Stored: a restarted core keeps the operator's setting over the configuration file's.
    REQUIRE(put_json(core, "/api/v1/config", off).status == 200);
    REQUIRE(wait_until([&] { return status_of(app.target(), "/health") == 403; }, 3s));
    app.restart_core();
    app.core().require_log(Appliance::kCoreRulesCurrent, 15s);
    CHECK(status_of(app.target(), "/health") == 403);
}

TEST_CASE("new guest account client URIs set in the admin are resolved at once and get rules") {
    // The lab resolver reads this hosts file (besides its "resolve" map) at each round.
    TempDir hosts("hosts");
    const fs::path hosts_file = hosts.path() / "hosts";
    std::ofstream(hosts_file) << "# names for the lab resolver\n";
    AdminApplianceOptions options;
    // A long discovery interval: only the change itself can trigger the resolution in time.
    // The lab web bridge's certificate names localhost only; this test is about the rules.
    options.appliance.core_patch = {{"discovery_interval_ms", 600000},
                                    {"hosts_file", hosts_file.string()},
                                    {"webbridge_tls", {{"insecure_skip_verify", true}}}};
    AdminAppliance admin(options);
    Appliance& app = admin.app();
    AdminClient core = admin.core_admin();
    std::ofstream(hosts_file, std::ios::app)
        << "127.0.0.1:" << app.webbridge_port() << " meet.example.com\n";

    TlsTarget meet = app.target();
    meet.ca_file.clear();  // the lab certificate names localhost only
    meet.server_name = "meet.example.com";
    REQUIRE(https_get(meet, "/health").status == 403);

    const std::string meet_uri =
        "https://meet.example.com:" + std::to_string(app.https_port()) + "/";
    const std::string local_uri = "https://localhost:" + std::to_string(app.https_port()) + "/";
    const Response changed =
        put_json(core, "/api/v1/config", {{"web_proxy", {{"join_urls", {local_uri, meet_uri}}}}});
    INFO(changed.body);
    REQUIRE(changed.status == 200);
    CHECK(wait_until([&] { return status_of(meet, "/health") == 200; }, 3s));
    const json targets = json::parse(core.get("/api/v1/status/targets").body)["targets"];
    bool listed = false;
    for (const auto& row : targets) listed = listed || row["uri"] == meet_uri;
    CHECK(listed);

    // Removing it takes its automatic rules away again.
    REQUIRE(
        put_json(core, "/api/v1/config", {{"web_proxy", {{"join_urls", {local_uri}}}}}).status ==
        200);
    CHECK(wait_until([&] { return status_of(meet, "/health") == 403; }, 3s));
    CHECK(status_of(app.target(), "/health") == 200);
}

TEST_CASE(
    "a 443 certificate uploaded on the edge's admin serves new connections at once while "
    "open ones carry on") {
    AdminApplianceOptions options;
    options.edge_admin = true;
    AdminAppliance admin(options);
    Appliance& app = admin.app();
    AdminClient edge = admin.edge_admin();
    HttpsConnection open_connection(app.target());
    REQUIRE(open_connection.get("/health").status == 200);

    const auto other = tls::ensure_lab_pki(app.dir() / "other-pki", {});
    const std::string edge_before = file_text(app.pki().edge_cert());

    // A key that does not belong to the certificate: refused, nothing changes.
    const Response mismatched = put_json(edge, "/api/v1/certificates/https",
                                         {{"certificate", file_text(other.edge_cert())},
                                          {"private_key", file_text(other.link_key())}});
    CHECK(mismatched.status == 422);
    CHECK(file_text(app.pki().edge_cert()) == edge_before);

    const Response uploaded = put_json(edge, "/api/v1/certificates/https",
                                       {{"certificate", file_text(other.edge_cert())},
                                        {"private_key", file_text(other.edge_key())}});
    INFO(uploaded.body);
    REQUIRE(uploaded.status == 200);
    TlsTarget new_ca = app.target();
    new_ca.ca_file = other.ca_cert();
    CHECK(status_of(new_ca, "/health") == 200);
    CHECK(status_of(app.target(), "/health") == 0);  // the old CA no longer verifies it
    CHECK(open_connection.get("/health").status == 200);
    CHECK((fs::status(app.pki().edge_key()).permissions() & fs::perms::others_read) ==
          fs::perms::none);
}

TEST_CASE(
    "a core without the edges' CA still starts, says why it dials no edge, and links as "
    "soon as the CA is uploaded in its admin",
    "[e2e][admin]") {
    ApplianceOptions options;
    options.start_core = false;
    Appliance app(options);
    // A new appliance core: its own certificates are there, the edges' CA is not yet.
    const fs::path edge_ca = app.dir() / "edge-ca.pem";
    json config = app.core_config();
    config["link_tls"]["edge_ca"] = edge_ca.string();
    config["admin"] = {{"listen", "127.0.0.1:0"},
                       {"certificate", app.pki().edge_cert().string()},
                       {"private_key", app.pki().edge_key().string()}};
    write_json(app.dir() / "core.json", config);
    ChildProcess core("core", edgeway_binary(),
                      {"core", "--config", (app.dir() / "core.json").string()},
                      app.dir() / "core.log");
    CHECK_THAT(core.require_log("the link certificates cannot be used.*", 15s)[0],
               Contains(edge_ca.string()));
    TlsTarget admin_target;
    admin_target.port = port_of(core.require_log(AdminAppliance::kAdminListening, 15s));
    admin_target.ca_file = app.ca_file();
    AdminClient admin(admin_target);
    REQUIRE(admin.login("admin", core.require_log(AdminAppliance::kFirstPassword, 15s)[1]).status ==
            200);
    REQUIRE(wait_until(
        [&] {
            const json links = json::parse(admin.get("/api/v1/status/links").body)["links"];
            return links.size() == 1 && links[0]["state"] == "Failed" &&
                   links[0]["reason"].get<std::string>().find("no usable link certificate") !=
                       std::string::npos;
        },
        10s));
    CHECK(https_get(app.target(), "/health").status == 503);

    const Response uploaded = put_json(admin, "/api/v1/certificates/link_ca",
                                       {{"certificate", file_text(app.pki().ca_cert())}});
    INFO(uploaded.body);
    REQUIRE(uploaded.status == 200);
    core.require_log(Appliance::kCoreLinkUp, 15s);
    CHECK(wait_until([&] { return status_of(app.target(), "/health") == 200; }, 10s));
}
