// The plain-HTTP listener sends browsers to HTTPS.
#include "tests/e2e/e2e.hpp"

using namespace edgeway::test;

namespace {

ApplianceOptions edge_only(json edge_patch = json::object()) {
    ApplianceOptions options;
    options.start_core = false;
    options.start_webbridge = false;
    options.edge_patch = std::move(edge_patch);
    return options;
}

}  // namespace

TEST_CASE("GET and HEAD on the redirect port get 301 to https on the actual https port",
          "[e2e][redirect]") {
    Appliance app(edge_only());
    const auto host = "localhost:" + std::to_string(app.redirect_port());
    const auto expected =
        "https://localhost:" + std::to_string(app.https_port()) + "/some/path?x=1";

    const auto get =
        http_plain_request(app.redirect_port(), http::verb::get, "/some/path?x=1", host);
    CHECK(get.status == 301);
    CHECK(get.header("location") == expected);

    const auto head =
        http_plain_request(app.redirect_port(), http::verb::head, "/some/path?x=1", host);
    CHECK(head.status == 301);
    CHECK(head.header("location") == expected);
}

TEST_CASE("POST on the redirect port gets 308 so the method is kept", "[e2e][redirect]") {
    Appliance app(edge_only());
    const auto response = http_plain_request(app.redirect_port(), http::verb::post, "/upload",
                                             "localhost:" + std::to_string(app.redirect_port()));
    CHECK(response.status == 308);
    CHECK(response.header("location") ==
          "https://localhost:" + std::to_string(app.https_port()) + "/upload");
}

TEST_CASE("with public_https_port 443 the redirect leaves the port out", "[e2e][redirect]") {
    Appliance app(edge_only({{"public_https_port", 443}}));
    const auto response =
        http_plain_request(app.redirect_port(), http::verb::get, "/join?id=42", "localhost");
    CHECK(response.status == 301);
    CHECK(response.header("location") == "https://localhost/join?id=42");

    const auto other =
        http_plain_request(app.redirect_port(), http::verb::put, "/a", "localhost:80");
    CHECK(other.status == 308);
    CHECK(other.header("location") == "https://localhost/a");
}
