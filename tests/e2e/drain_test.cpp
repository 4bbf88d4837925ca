// Draining a core (SIGTERM, `edgeway drain`) while an edge has another core linked: the edge
// sends new requests to the other core, requests in flight on the draining one finish, its
// WebSockets are closed with 1012 (service restart) at the deadline and reconnect through the
// other core; a request racing the GOAWAY is sent again on the other core. And the contrast: a
// core killed outright fails only what was in flight on it.
#include "tests/e2e/drain_checks.hpp"
#include "tests/e2e/e2e.hpp"

#include <nlohmann/json.hpp>

#include <csignal>
#include <filesystem>
#include <future>
#include <memory>

using namespace edgeway::test;

namespace {

constexpr int kDeadlineMs = 2500;
const json kDrainPatch = {{"drain", {{"deadline_ms", kDeadlineMs}}}};
// What the rolling restart's `edgeway drain` asks for instead.
constexpr int kCommandDeadlineMs = 1800;
constexpr const char* kCommandDeadline = "1.8";

}  // namespace

TEST_CASE(
    "rolling restart of both cores under load, by SIGTERM then by edgeway drain, fails no "
    "request, lets in-flight requests finish and gives WebSockets 1012 at the deadline so "
    "that they reconnect through the other core",
    "[e2e][drain]") {
    ApplianceOptions options;
    options.core_patch = kDrainPatch;
    Appliance app(options);
    const std::string body_a(40000, 'a'), body_b(40000, 'b');

    // Core A is the only one linked: these two run on it.
    WebSocketClient ws_a(app.target());
    check_echo(ws_a, "on core A");
    HeldUpload held_a(app.target(), "/upload", body_a.substr(0, 1000), body_a.substr(1000));
    auto core_b = app.launch_core("core-b", kDrainPatch);

    RequestLoad keep_alive(load_options(app.target(), 3, false));
    RequestLoad fresh(load_options(app.target(), 1, true));
    auto served = [&] { return keep_alive.finished() + fresh.finished(); };
    REQUIRE(wait_until([&] { return served() >= 20; }, 15s));

    std::vector<std::string> drained_ms;
    std::vector<std::size_t> served_while_draining;
    // One core drains and exits, while `held` and `ws` run on it and the load goes on: with
    // SIGTERM and its configured deadline, or with `edgeway drain --config FILE --deadline` (a
    // shorter one, given). Returns the WebSocket reconnected at once (through the other core);
    // what the load got answered meanwhile goes to served_while_draining.
    auto drain_core = [&](ChildProcess& core, HeldUpload& held, WebSocketClient& ws,
                          const std::string& name, const std::filesystem::path& command_config) {
        INFO("draining " << name);
        const auto signalled = Clock::now();
        const std::size_t served_before = served();
        const int deadline_ms = command_config.empty() ? kDeadlineMs : kCommandDeadlineMs;
        std::unique_ptr<ChildProcess> command;
        if (command_config.empty())
            core.signal(SIGTERM);
        else
            command = std::make_unique<ChildProcess>(
                "drain-" + name, edgeway_binary(),
                std::vector<std::string>{"drain", "--config", command_config.string(), "--deadline",
                                         kCommandDeadline},
                app.dir() / ("drain-" + name + ".log"));
        const auto start = core.require_log(kDrainStart, 5s);
        CHECK(std::stoul(start[1]) >= 1);  // held at least
        CHECK(std::stoul(start[2]) == 1);  // ws
        // In flight on the draining core: it finishes.
        const auto answer = held.finish();
        CHECK(answer.status == 200);
        CHECK_THAT(answer.body, Contains(R"("bytes":40000)"));
        // Still open at the deadline: 1012 then, not before nor much after.
        const auto [code, closed] = read_until_closed(ws);
        CHECK(code == 1012);
        const double ms = std::chrono::duration<double, std::milli>(closed - signalled).count();
        CHECK(ms >= deadline_ms - 100);
        CHECK(ms <= deadline_ms + 1500);
        auto reconnected = std::make_unique<WebSocketClient>(app.target());
        check_echo(*reconnected, "reconnected after " + name + " drained");
        CHECK(core.wait_exit(10s) == 0);
        // Gone soon after the deadline: the closing after it is short.
        CHECK(elapsed_ms(signalled) <= deadline_ms + 2500);
        if (command) {
            CHECK(command->wait_exit(5s) == 0);
            const std::string output = command->log_text();
            INFO(output);
            CHECK_THAT(output, Contains(std::string("deadline ") + kCommandDeadline + " s"));
            CHECK_THAT(output, Contains("closing 1 WebSocket with 1012 (service restart)"));
            CHECK_THAT(output, Contains("has exited"));
        }
        drained_ms.push_back(core.require_log(R"(drained in (\d+) ms)", 1s)[1]);
        served_while_draining.push_back(served() - served_before);
        return reconnected;
    };
    auto ws_b = drain_core(app.core(), held_a, ws_a, "core A", {});
    // Only core B is linked now: this one runs on it, like ws_b. Then core A comes back.
    HeldUpload held_b(app.target(), "/upload", body_b.substr(0, 1000), body_b.substr(1000));
    app.start_core();
    drain_core(*core_b, held_b, *ws_b, "core B", app.dir() / "core-b.json");
    core_b = app.launch_core("core-b", kDrainPatch);
    const std::size_t served_after = served();
    CHECK(wait_until([&] { return served() >= served_after + 20; }, 15s));

    keep_alive.stop();
    fresh.stop();
    const std::size_t retried = app.edge().log().count("sent again on another link");
    REQUIRE(served_while_draining.size() == 2);
    WARN("rolling restart: " << served() << " requests, " << keep_alive.failed() + fresh.failed()
                             << " failed; " << served_while_draining[0]
                             << " answered while core A drained (in " << drained_ms[0] << " ms), "
                             << served_while_draining[1] << " while core B did (in "
                             << drained_ms[1] << " ms); " << retried
                             << " refused by a draining core and sent again");
    INFO("first failure: " << first_failure(keep_alive) << " / " << first_failure(fresh));
    CHECK(keep_alive.failed() == 0);
    CHECK(fresh.failed() == 0);
    CHECK(served_while_draining[0] > 0);
    CHECK(served_while_draining[1] > 0);
}

TEST_CASE("a request racing a draining core's GOAWAY is refused by it and sent to the other core",
          "[e2e][drain]") {
    ApplianceOptions options;
    options.via_relay = true;  // core A's link goes through the relay, core B's does not
    options.core_patch = {{"drain", {{"deadline_ms", 20000}}}};
    Appliance app(options);
    // Keeps core A draining (rather than gone) until the end of the test.
    HeldUpload keeps_a(app.target(), "/upload", "first", "rest");
    auto core_b = app.launch_core("core-b");

    // The edge will not see core A's GOAWAY (nor the PING sent with the shutdown notice) until
    // the relay lets it through: core A sends its final GOAWAY without the edge's answer, and
    // the edge meanwhile still opens streams on core A's link, above that GOAWAY's last stream.
    app.relay().freeze(LinkRelay::Direction::to_edge);
    app.core().signal(SIGTERM);
    const auto goaway = app.core().require_log(R"(GOAWAY sent, last stream (\d+))", 5s);
    INFO(goaway.line);

    constexpr int kRacing = 6;
    std::vector<std::future<Response>> racing;
    for (int i = 0; i < kRacing; ++i)
        racing.push_back(std::async(std::launch::async,
                                    [&] { return https_get(app.target(), "/delay?ms=300"); }));
    // The least busy link takes each new stream, so they alternate between the two links;
    // once core B has answered one, every one of them has been sent.
    REQUIRE(core_b->log().wait_for(access_line("/delay"), 10s));
    app.relay().unfreeze();

    for (auto& request : racing) {
        REQUIRE(request.wait_for(15s) == std::future_status::ready);
        CHECK(request.get().status == 200);
    }
    const auto refused = app.edge().log().find_all(R"(trace=([0-9a-f]+) refused by .* sent again)");
    CHECK(refused.size() >= 1);
    for (const auto& line : refused) {
        // Never processed by core A; served by core B under the same trace id.
        INFO(line.line);
        CHECK(app.core().log().count("trace=" + line[1]) == 0);
        CHECK(core_b->log().count("access trace=" + line[1]) == 1);
    }
    WARN(refused.size() << " of " << kRacing << " racing requests were refused by core A and "
                        << "served by core B");

    CHECK(keeps_a.finish().status == 200);
    CHECK(app.core().wait_exit(10s) == 0);
}

TEST_CASE(
    "edgeway drain follows the drain it asks for: a WebSocket still open is closed at the "
    "deadline, not later",
    "[e2e][drain]") {
    Appliance app;  // the core's own deadline is the default 30 s: --deadline replaces it
    WebSocketClient ws(app.target());
    check_echo(ws, "before the drain");

    const auto signalled = Clock::now();
    ChildProcess drain("drain", edgeway_binary(),
                       {"drain", "--config", app.core_config_file().string(), "--deadline", "1.5"},
                       app.dir() / "drain.log");
    const auto [code, closed] = read_until_closed(ws);
    CHECK(code == 1012);
    const double ms = std::chrono::duration<double, std::milli>(closed - signalled).count();
    CHECK(ms >= 1400);
    CHECK(ms <= 1500 + 1000);
    CHECK(app.core().wait_exit(10s) == 0);
    REQUIRE(drain.wait_exit(10s) == 0);
    const std::string output = drain.log_text();
    INFO(output);
    CHECK_THAT(output, Contains("draining the core (pid " + std::to_string(app.core().pid()) +
                                "), deadline 1.5 s"));
    CHECK_THAT(output, Contains("0 requests, 1 WebSocket in flight"));
    CHECK_THAT(output, Contains("deadline reached after"));
    CHECK_THAT(output, Contains("closing 1 WebSocket with 1012 (service restart)"));
    CHECK_THAT(output, Contains("drained in"));
    CHECK_THAT(output, Contains("has exited"));
    app.core().require_log(
        R"(stop signal: draining, deadline 1500 ms \(asked for by edgeway drain\))", 1s);

    // Nothing runs with that file any more; and a bad call is told apart from that.
    const auto again =
        run_program(edgeway_binary(), {"drain", "--config", app.core_config_file().string()},
                    app.dir() / "drain-again.log");
    CHECK(again.exit_code == 1);
    CHECK_THAT(again.output, Contains("edgeway drain: no core runs with"));
    const auto bad =
        run_program(edgeway_binary(),
                    {"drain", "--config", app.core_config_file().string(), "--deadline", "soon"},
                    app.dir() / "drain-bad.log");
    CHECK(bad.exit_code == 2);
    CHECK_THAT(bad.output, Contains("--deadline: expected seconds from 0 to 3600, got 'soon'"));
}

TEST_CASE(
    "kill -9 of a core under load fails only the requests in flight on it, and new requests "
    "succeed within a second",
    "[e2e][drain]") {
    Appliance app;
    auto core_b = app.launch_core("core-b");
    RequestLoad load(load_options(app.target(), 4, false));
    REQUIRE(wait_until([&] { return load.finished() >= 20; }, 15s));

    const auto killed = Clock::now();
    app.core().kill();
    const std::size_t at_kill = load.finished();
    REQUIRE(wait_until(
        [&] {
            return load.finished() >= at_kill + 40 &&
                   load.succeeded_started_after(killed + 1s) >= 10;
        },
        15s));
    load.stop();
    const std::size_t after_a_second = load.succeeded_started_after(killed + 1s);
    const auto failures = load.failures();
    for (const auto& failure : failures) {
        INFO(failure.path << ": " << failure.error);
        CHECK(failure.started < killed + 1s);
    }
    WARN("kill -9 under load: " << load.finished() << " requests, " << failures.size()
                                << " failed (all started before the kill + 1 s), " << after_a_second
                                << " succeeded after that");
    CHECK(after_a_second > 0);
}
