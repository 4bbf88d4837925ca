// Requests travel edge -> link -> core -> web bridge and back unchanged.
#include "tests/e2e/e2e.hpp"

using namespace edgeway::test;

TEST_CASE("GET / returns the demo page through edge, link and core", "[e2e][forwarding]") {
    Appliance app;
    const auto response = https_get(app.target(), "/");
    CHECK(response.status == 200);
    CHECK_THAT(response.header("content-type"), StartsWith("text/html"));
    CHECK_THAT(response.body, Contains("Edgeway demo web bridge"));
}

TEST_CASE("edge and core log one access line per request with the same trace id",
          "[e2e][forwarding]") {
    Appliance app;
    const auto response = https_get(app.target(), "/echo-headers?probe=trace");
    REQUIRE(response.status == 200);
    const auto echo = json::parse(response.body);
    CHECK(echo.at("method") == "GET");
    CHECK(echo.at("target") == "/echo-headers?probe=trace");

    const auto edge_line = app.edge().require_log(access_line("/echo-headers"), 5s);
    CHECK(edge_line[2] == "200");
    const auto& trace = edge_line[1];
    const auto core_line = app.core().require_log(
        "access trace=" + trace + " .*path=/echo-headers(\\?\\S*)? status=200 ", 5s);
    CHECK(app.edge().log().count("access trace=") == 1);
    CHECK(app.core().log().count("access trace=") == 1);
    // The web bridge saw exactly this request.
    app.webbridge().require_log(R"(GET /echo-headers\?probe=trace 200 )", 5s);
}

TEST_CASE("forwarded requests carry X-Forwarded-For, X-Forwarded-Proto and the original Host",
          "[e2e][forwarding]") {
    Appliance app;
    const auto response = https_get(app.target(), "/echo-headers");
    REQUIRE(response.status == 200);
    const auto headers = json::parse(response.body).at("headers");
    INFO(headers.dump(2));
    CHECK(headers.value("x-forwarded-proto", "") == "https");
    CHECK_THAT(headers.value("x-forwarded-for", ""), Contains("127.0.0.1"));
    CHECK(headers.value("host", "") == app.target().host());
}

TEST_CASE(
    "the join host is accepted in any letter case and with a trailing dot, and the port "
    "is part of it",
    "[e2e][forwarding]") {
    Appliance app;
    const std::string port = std::to_string(app.https_port());
    for (const std::string& host :
         {"localhost:" + port, "LocalHost:" + port, "localhost.:" + port}) {
        auto target = app.target();
        target.host_header = host;
        INFO("Host: " << host);
        const auto response = https_get(target, "/echo-headers");
        CHECK(response.status == 200);
        // What goes inside is the normalised name.
        CHECK(json::parse(response.body).at("headers").value("host", "") == "localhost:" + port);
    }
    // No port means 443, which is not the join URL's port here.
    auto target = app.target();
    target.host_header = "localhost";
    CHECK(https_get(target, "/health").status == 403);
}

TEST_CASE("one keep-alive connection carries several requests and passes statuses through",
          "[e2e][forwarding]") {
    Appliance app;
    HttpsConnection connection(app.target());

    auto health = connection.get("/health");
    CHECK(health.status == 200);
    CHECK(health.body == "ok\n");

    auto download = connection.get("/download?bytes=100000");
    CHECK(download.status == 200);
    CHECK(download.body == pattern_bytes(0, 100000));

    for (const unsigned code : {404u, 418u, 500u, 503u}) {
        auto response = connection.get("/status/" + std::to_string(code));
        CHECK(response.status == code);
        CHECK(response.body == "status " + std::to_string(code) + "\n");
    }

    auto head = connection.request(make_request(app.target(), http::verb::head, "/health"));
    CHECK(head.status == 200);
    CHECK(head.body.empty());

    CHECK(connection.get("/health").status == 200);
    CHECK(wait_until(
        [&] {
            return app.edge().log().count(R"(access trace=\S+ .*path=/status/\d+ status=)") >= 4;
        },
        5s));
}
