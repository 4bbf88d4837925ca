// What the admin servers of the edge and the core show of the running appliance: the traversal
// links (Active, then Failed with the reason), recent and refused requests, /metrics; and that
// nothing of the administration ever answers on the browsers' 443.
#include "tests/e2e/e2e.hpp"
#include "tests/support/admin_appliance.hpp"

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
