// `edgeway demo`: the whole appliance in one command, for a first look in a browser.
#include "tests/e2e/e2e.hpp"
#include "tests/support/admin_client.hpp"

using namespace edgeway::test;

TEST_CASE(
    "edgeway demo serves the join URL with the demo page and WebSocket echo, and stops on "
    "SIGTERM",
    "[e2e][demo]") {
    TempDir dir("edgeway-demo");
    const auto state = dir / "state";
    ChildProcess demo("demo", edgeway_binary(),
                      {"demo", "--state-dir", state.string(), "--https-port", "0", "--http-port",
                       "0", "--link-port", "0", "--webbridge-port", "0", "--admin-port", "0"},
                      dir / "demo.log");
    const auto url = demo.require_log(R"(Join URL: https://localhost:(\d+)/)", 30s);
    const auto admin_url =
        demo.require_log(R"(Admin: +https://localhost:(\d+)/ \(user admin, password (\S+)\))", 30s);

    std::filesystem::path ca;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(state)) {
        if (entry.path().filename() == "ca.pem") ca = entry.path();
    }
    REQUIRE_FALSE(ca.empty());

    TlsTarget target;
    target.port = static_cast<std::uint16_t>(std::stoul(url[1]));
    target.ca_file = ca;
    target.timeout = 3s;
    // The Join URL may be printed before the internal link is up; wait for the page.
    Response page;
    const bool served = wait_until(
        [&] {
            try {
                page = https_get(target, "/");
            } catch (const std::exception&) {
                return false;
            }
            return page.status == 200;
        },
        15s, 100ms);
    INFO("last status " << page.status);
    REQUIRE(served);
    CHECK_THAT(page.body, Contains("Edgeway demo web bridge"));

    // The core's administration, with the password it printed on this first run.
    TlsTarget admin_target = target;
    admin_target.port = static_cast<std::uint16_t>(std::stoul(admin_url[1]));
    AdminClient admin(admin_target);
    CHECK(admin.login("admin", admin_url[2]).status == 200);
    CHECK(admin.get("/api/v1/rules").status == 200);

    WebSocketClient ws(target, "/ws/echo");
    ws.send_text("demo echo");
    CHECK(ws.read().data == "demo echo");
    CHECK(ws.close().code == websocket::close_code::normal);

    demo.signal(SIGTERM);
    CHECK(demo.wait_exit(15s) == 0);
}
