// Draining an edge (SIGTERM): it stops accepting, closes idle keep-alive connections, answers the
// requests in flight with Connection: close, closes its WebSockets with 1012 (service restart)
// at the deadline, and exits 0.
#include "tests/e2e/e2e.hpp"
#include "tests/support/request_load.hpp"

#include <csignal>

using namespace edgeway::test;

TEST_CASE(
    "an edge on SIGTERM stops accepting, finishes in-flight requests with Connection: close, "
    "closes idle keep-alive connections and WebSockets (1012 at the deadline), and exits 0",
    "[e2e][drain]") {
    constexpr int kDeadlineMs = 1500;
    ApplianceOptions options;
    options.edge_patch = {{"drain", {{"deadline_ms", kDeadlineMs}}}};
    Appliance app(options);

    HttpsConnection idle(app.target());
    REQUIRE(idle.get("/health").status == 200);
    WebSocketClient ws(app.target());
    ws.send_text("before the drain");
    REQUIRE(ws.read().data == "before the drain");
    // In flight when the signal comes: an upload whose answer cannot start before the test
    // sends the rest of its body, and a download under way.
    const std::string body(30000, 'x');
    HeldUpload held(app.target(), "/upload", body.substr(0, 100), body.substr(100));
    std::promise<void> first_bytes;
    auto download = std::async(std::launch::async, [&] {
        bool told = false;
        return https_download(app.target(), "/drip?chunks=15&interval_ms=100", [&](std::uint64_t) {
            if (!std::exchange(told, true)) first_bytes.set_value();
        });
    });
    REQUIRE(first_bytes.get_future().wait_for(10s) == std::future_status::ready);

    const auto signalled = Clock::now();
    app.edge().signal(SIGTERM);
    app.edge().require_log("draining: stopped accepting", 5s);
    // No new connection; the idle keep-alive one is closed by the edge.
    CHECK_THROWS(https_get(app.target(), "/health"));
    CHECK(idle.closed_by_server(5s));

    const Response answer = held.finish();
    CHECK(answer.status == 200);
    CHECK(answer.header("connection") == "close");
    CHECK_THAT(answer.body, Contains(R"("bytes":30000)"));
    REQUIRE(download.wait_for(10s) == std::future_status::ready);
    const auto downloaded = download.get();
    CHECK(downloaded.status == 200);
    CHECK(downloaded.complete);
    CHECK(downloaded.bytes == drip_body(15).size());

    // The WebSocket stays until the deadline, then gets 1012; the edge exits right after.
    unsigned code = 0;
    try {
        for (;;) ws.read();
    } catch (const boost::system::system_error& e) {
        CHECK(e.code() == websocket::error::closed);
        code = ws.close_reason().code;
    }
    const double closed_ms = elapsed_ms(signalled);
    CHECK(code == 1012);
    CHECK(closed_ms >= kDeadlineMs - 100);
    CHECK(closed_ms <= kDeadlineMs + 1000);
    CHECK(app.edge().wait_exit(5s) == 0);
    CHECK(elapsed_ms(signalled) <= kDeadlineMs + 2500);
    app.edge().require_log(R"(drained in \d+ ms)", 1s);
}

TEST_CASE("edgeway drain --config edge.json drains the edge and follows it until it exits",
          "[e2e][drain]") {
    Appliance app;  // the edge's own deadline is the default 30 s: --deadline replaces it
    const std::string body(20000, 'y');
    HeldUpload held(app.target(), "/upload", body.substr(0, 100), body.substr(100));

    ChildProcess drain("drain", edgeway_binary(),
                       {"drain", "--config", app.edge_config_file().string(), "--deadline", "5"},
                       app.dir() / "drain.log");
    app.edge().require_log(
        R"(stop signal: draining, deadline 5000 ms \(asked for by edgeway drain\))", 5s);
    app.edge().require_log("draining: stopped accepting", 5s);
    // In flight: answered, with Connection: close; then nothing is left and the edge exits
    // before its deadline.
    const Response answer = held.finish();
    CHECK(answer.status == 200);
    CHECK(answer.header("connection") == "close");
    CHECK_THAT(answer.body, Contains(R"("bytes":20000)"));
    CHECK(app.edge().wait_exit(5s) == 0);
    REQUIRE(drain.wait_exit(5s) == 0);
    const std::string output = drain.log_text();
    INFO(output);
    CHECK_THAT(output, Contains("draining the edge (pid " + std::to_string(app.edge().pid()) +
                                "), deadline 5.0 s"));
    CHECK_THAT(output, Contains("drained in"));
    CHECK_THAT(output, Contains("has exited"));
    CHECK_THAT(output, !Contains("closing"));  // no WebSocket was open
}
