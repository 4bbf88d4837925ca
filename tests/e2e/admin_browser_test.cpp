// The admin web UI in a real browser: Debian's headless Chromium driven by playwright-core
// (installed from npm into the build directory on first use) runs tests/browser/admin_ui.mjs
// against a running appliance (core and edge with their admin listeners), then once more
// against the edge's administration after the core has stopped. Screenshots are kept in the
// build directory.
#include "tests/e2e/e2e.hpp"
#include "tests/support/admin_appliance.hpp"

using namespace edgeway::test;
namespace fs = std::filesystem;

namespace {

constexpr const char* kPlaywrightVersion = "1.65.1";

// The script sits in tests/browser of the source tree (not found through __FILE__, which a
// compiler cache may make relative).
fs::path browser_script() {
    return fs::path(EDGEWAY_SOURCE_DIR) / "tests" / "browser" / "admin_ui.mjs";
}

fs::path build_dir() {
    return edgeway_binary().parent_path().parent_path();
}

// playwright-core in a cache directory under the build, installed when missing. Empty when npm
// cannot reach its registry (the caller skips); a failed install with a reachable registry
// fails the test.
fs::path playwright_core(const fs::path& log_dir) {
    const fs::path cache = build_dir() / "node-cache";
    const fs::path module = cache / "node_modules" / "playwright-core";
    if (fs::exists(module / "package.json")) return module;
    const auto ping = run_program("/usr/bin/npm", {"ping"}, log_dir / "npm-ping.log", 60s);
    if (ping.exit_code != 0) return {};
    fs::create_directories(cache);
    // Built step by step: GCC 12 warns (wrongly) about a braced list of seven strings here.
    std::vector<std::string> args = {"install", "--prefix", cache.string()};
    args.push_back("--no-audit");
    args.push_back("--no-fund");
    args.push_back("--no-save");
    args.push_back(std::string("playwright-core@") + kPlaywrightVersion);
    const auto install = run_program("/usr/bin/npm", args, log_dir / "npm-install.log", 300s);
    INFO(install.output);
    REQUIRE(install.exit_code == 0);
    REQUIRE(fs::exists(module / "package.json"));
    return module;
}

}  // namespace

TEST_CASE(
    "admin UI in headless Chromium: login, validation messages, a rule added with the "
    "form opens a path on 443 and deleting it closes the path, every page of the navigation, "
    "the edge's traversal link Active and then Failed after the core stops",
    "[e2e][admin][browser]") {
    REQUIRE(fs::exists("/usr/bin/chromium"));  // installed by packaging/install-deps
    REQUIRE(fs::exists("/usr/bin/node"));
    AdminApplianceOptions options;
    options.edge_admin = true;
    // No automatic rules: the edge refuses /health until the rule is added.
    options.appliance.core_patch = {{"join_url", "https://join.edgeway.test/"}};
    AdminAppliance admin(options);
    Appliance& app = admin.app();
    const auto module = playwright_core(app.dir().path());
    if (module.empty()) {
        WARN("skipped: npm cannot reach its registry to install playwright-core");
        return;
    }
    const fs::path artifacts = build_dir() / "test-artifacts" / "admin-ui";
    fs::create_directories(artifacts);

    const std::string script = browser_script().string();
    const std::string edge_port = std::to_string(app.https_port());
    auto run_browser = [&](const std::string& phase, const std::string& log_name) {
        return run_program(
            "/usr/bin/env",
            {"ADMIN_URL=https://localhost:" + std::to_string(admin.core_admin_port()),
             "ADMIN_PASSWORD=" + admin.core_password(),
             "EDGE_ADMIN_URL=https://localhost:" + std::to_string(admin.edge_admin_port()),
             "EDGE_ADMIN_PASSWORD=" + admin.edge_password(), "PHASE=" + phase,
             "LINK_STATE=" + std::string(phase == "edge-only" ? "Failed" : "Active"),
             "EDGE_URL=https://localhost:" + edge_port, "EDGE_PORT=" + edge_port,
             "ARTIFACTS=" + artifacts.string(), "PLAYWRIGHT_CORE=" + module.string(),
             "/usr/bin/node", script},
            app.dir() / log_name, 180s);
    };
    const auto run = run_browser("all", "browser.log");
    INFO(run.output);
    INFO("screenshots in " << artifacts.string());
    CHECK(run.exit_code == 0);
    CHECK_THAT(run.output, Contains("step: done"));
    for (const char* shot :
         {"01-login.png", "03-validation.png", "04-added.png", "07-webproxy-validation.png",
          "20-system-validation.png", "30-edge-links-active.png"})
        CHECK(fs::exists(artifacts / shot));
    // The rule went through the API with the browser's session: audited as that operator.
    CHECK(app.core().log().find(R"(admin:admin from 127\.0\.0\.1 added rule)"));

    // The core stops: the edge's traversal links page shows the link Failed.
    app.stop_core();
    const auto after = run_browser("edge-only", "browser-after.log");
    INFO(after.output);
    CHECK(after.exit_code == 0);
    CHECK_THAT(after.output, Contains("step: done"));
    CHECK(fs::exists(artifacts / "40-edge-links-failed.png"));
}
