// The core cannot use the web bridge: unreachable, or its certificate is not trusted.
#include "tests/e2e/e2e.hpp"

using namespace edgeway::test;

TEST_CASE("an unreachable web bridge gives 502 and the core logs an upstream error",
          "[e2e][upstream]") {
    ApplianceOptions options;
    options.upstream = Upstream::closed_port;
    Appliance app(options);

    const auto start = Clock::now();
    const auto response = https_get(app.target(), "/health");
    CHECK(response.status == 502);
    CHECK(elapsed_ms(start) < 3000);  // a refused connection is known at once

    const auto error = app.core().require_log(R"(upstream error trace=([0-9a-f]+): (.+))", 5s);
    INFO(error.line);
    const auto edge_line = app.edge().require_log(access_line("/health"), 5s);
    CHECK(edge_line[2] == "502");
    CHECK(edge_line[1] == error[1]);  // the same trace id on both sides
}

TEST_CASE(
    "an untrusted web bridge certificate gives 502 and the core names the verification "
    "failure",
    "[e2e][upstream]") {
    ApplianceOptions options;
    options.upstream = Upstream::untrusted;
    Appliance app(options);

    const auto response = https_get(app.target(), "/health");
    CHECK(response.status == 502);
    const auto error = app.core().require_log(R"(upstream error trace=[0-9a-f]+: (.+))", 5s);
    INFO(error.line);
    CHECK_THAT(error[1], Contains("certificate verify failed"));
    // Nothing was served: the web bridge never got a request.
    CHECK(app.webbridge().log().count("GET /health") == 0);
}

TEST_CASE("a web bridge that sends no response head within response_timeout_ms gives 504",
          "[e2e][upstream]") {
    ApplianceOptions options;
    options.core_patch = {{"upstream", {{"response_timeout_ms", 300}}}};
    Appliance app(options);

    const auto start = Clock::now();
    const auto late = https_get(app.target(), "/delay?ms=3000");
    CHECK(late.status == 504);
    CHECK(elapsed_ms(start) < 2500);  // the deadline, not the web bridge, ended it
    const auto error = app.core().require_log(R"(upstream error trace=[0-9a-f]+: (.+))", 5s);
    CHECK_THAT(error[1], Contains("no response head"));

    // A web bridge that answers within the deadline is served as usual.
    CHECK(https_get(app.target(), "/delay?ms=10").status == 200);
}
