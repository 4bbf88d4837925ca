// A real client: curl, trusting only the lab CA, with the join host resolved to loopback.
#include "tests/e2e/e2e.hpp"

using namespace edgeway::test;

TEST_CASE("curl fetches the demo page through the edge", "[e2e][curl]") {
    Appliance app;
    const auto result =
        run_curl(app.dir().path(), app.ca_file(), "localhost", app.https_port(), "/");
    INFO(result.output);
    REQUIRE(result.exit_code == 0);
    CHECK(result.status == 200);
    CHECK_THAT(result.body(), Contains("Edgeway demo web bridge"));
}

TEST_CASE("curl downloads 50 MiB intact through a pipe to sha256sum", "[e2e][curl]") {
    Appliance app;
    const std::uint64_t bytes = 50 * MiB;
    const auto result = curl_sha256(app.dir().path(), app.ca_file(), "localhost", app.https_port(),
                                    "/download?bytes=" + std::to_string(bytes));
    INFO(result.output);
    REQUIRE(result.exit_code == 0);
    CHECK(result.sha256 == pattern_sha256(bytes));
}
