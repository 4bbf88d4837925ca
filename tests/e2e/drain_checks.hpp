// What the tests that drain, restart or kill nodes under load share: the load they run and how
// they check a WebSocket that a draining core closes.
#pragma once

#include "tests/e2e/e2e.hpp"
#include "tests/support/request_load.hpp"

#include <string>
#include <utility>

namespace edgeway::test {

// The drain's first line on a core: "draining: waiting up to N ms for R requests and W WebSockets".
inline const std::string kDrainStart =
    R"(draining: waiting up to \d+ ms for (\d+) requests? and (\d+) WebSockets?)";

// What the load asks for: a 300 ms response streamed in pieces, a download and a small page.
inline RequestLoad::Options load_options(const TlsTarget& target, int threads,
                                         bool new_connections) {
    RequestLoad::Options options;
    options.target = target;
    options.threads = threads;
    options.new_connection_each_time = new_connections;
    options.requests = {{"/drip?chunks=4&interval_ms=100", drip_body(4)},
                        {"/download?bytes=20000", pattern_bytes(0, 20000)},
                        {"/health", "ok\n"}};
    return options;
}

inline void check_echo(WebSocketClient& ws, const std::string& text) {
    ws.send_text(text);
    CHECK(ws.read().data == text);
}

// Reads until the server closes the WebSocket; returns the close code and when it came.
inline std::pair<unsigned, Clock::time_point> read_until_closed(WebSocketClient& ws) {
    try {
        for (;;) ws.read();
    } catch (const boost::system::system_error& e) {
        INFO("the WebSocket ended with: " << e.code().message());
        CHECK(e.code() == websocket::error::closed);
    }
    return {ws.close_reason().code, Clock::now()};
}

inline std::string first_failure(const RequestLoad& load) {
    const auto failures = load.failures();
    if (failures.empty()) return "none";
    return failures.front().path + ": " + failures.front().error;
}

}  // namespace edgeway::test
