// A real browser (Debian's headless Chromium) opens the demo appliance's join URL: the page comes
// through edge -> link -> core -> web bridge, its script opens a WebSocket through the same path,
// and the message it sends comes back and is shown.
#include "tests/e2e/e2e.hpp"

using namespace edgeway::test;

namespace {

const std::filesystem::path kChromium = "/usr/bin/chromium";

// The page's DOM after its scripts ran, as Chromium serialises it.
std::string rendered_dom(const TempDir& dir, const std::string& url, int attempt) {
    const auto profile = dir / ("chromium-profile-" + std::to_string(attempt));
    // The flags keep Chromium off the network (this machine has none) and out of the sandbox,
    // which needs privileges a test runner does not have. Certificate errors are ignored
    // because the demo's lab CA is not in a browser trust store; TLS itself is still real.
    const auto run = run_program(
        kChromium,
        {"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--user-data-dir=" + profile.string(), "--ignore-certificate-errors",
         "--virtual-time-budget=5000", "--dump-dom", url},
        dir / ("chromium-" + std::to_string(attempt) + ".log"), 60s);
    REQUIRE(run.exit_code.has_value());
    return run.output;
}

}  // namespace

TEST_CASE("a browser shows the demo page and its WebSocket echo through the proxy",
          "[e2e][browser]") {
    REQUIRE(std::filesystem::exists(kChromium));  // installed by packaging/install-deps
    TempDir dir("edgeway-browser");
    ChildProcess demo("demo", edgeway_binary(),
                      {"demo", "--state-dir", (dir / "state").string(), "--https-port", "0",
                       "--http-port", "0", "--link-port", "0", "--webbridge-port", "0"},
                      dir / "demo.log");
    const auto url = demo.require_log(R"(Join URL: (https://localhost:\d+/))", 30s);
    demo.require_log("link up to", 15s);

    // The echo arrives over a real socket, outside Chromium's virtual clock: a slow machine may
    // need a second look, so up to three renderings are tried before the test fails.
    std::string dom;
    for (int attempt = 0; attempt < 3; ++attempt) {
        dom = rendered_dom(dir, url[1], attempt);
        if (dom.find(R"(<span class="text">hello</span>)") != std::string::npos) break;
    }
    INFO(dom);
    CHECK_THAT(dom, Contains("Edgeway demo web bridge"));
    CHECK_THAT(dom, Contains(R"(data-state="connected")"));
    CHECK_THAT(dom, Contains(R"(<span class="text">hello</span>)"));
    // The WebSocket really went through the edge.
    demo.require_log(
        R"(edge: access trace=\S+ client=\S+ method=GET host=localhost path=/ws/echo status=101)",
        10s);
    demo.signal(SIGTERM);
    CHECK(demo.wait_exit(15s) == 0);
}
