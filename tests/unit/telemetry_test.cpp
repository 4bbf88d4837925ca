// Unit tests for what the admin pages read: the request log (ring, filters, counters) and the
// link board (states, "since", rows of links that went down).
#include "common/telemetry.hpp"
#include "proxy/link_board.hpp"

#include <catch2/catch.hpp>

#include <thread>

using namespace edgeway;
using telemetry::LinkState;

namespace {

telemetry::RequestRecord request(std::string path, unsigned status, std::string refusal = {}) {
    telemetry::RequestRecord record;
    record.at = telemetry::Clock::now();
    record.client = "198.51.100.7:50123";
    record.protocol = "https";
    record.method = "GET";
    record.host = "join.example.com";
    record.path = std::move(path);
    record.status = status;
    record.refusal = std::move(refusal);
    record.detail = record.refusal.empty() ? "" : "no allow-list rule allows it";
    record.bytes_out = 100;
    return record;
}

}  // namespace

TEST_CASE("the request log keeps the newest entries, filters them and counts all") {
    telemetry::RequestLog log(3);
    log.record(request("/a", 200));
    log.record(request("/secret", 403, telemetry::kRefusalNoRule));
    log.record(request("/b", 200));
    log.record(request("/c", 404));  // pushes /a out of the ring

    const auto all = log.recent({});
    REQUIRE(all.size() == 3);
    CHECK(all[0].path == "/c");  // newest first
    CHECK(all[2].path == "/secret");

    telemetry::RequestFilter refused;
    refused.refused_only = true;
    const auto only = log.recent(refused);
    REQUIRE(only.size() == 1);
    CHECK(only[0].path == "/secret");

    telemetry::RequestFilter by_status;
    by_status.status = 404;
    CHECK(log.recent(by_status).size() == 1);

    telemetry::RequestFilter by_text;
    by_text.text = "SECRET";  // case-insensitive
    CHECK(log.recent(by_text).size() == 1);
    by_text.text = "ALLOW-LIST";  // the detail counts too
    CHECK(log.recent(by_text).size() == 1);

    telemetry::RequestFilter limited;
    limited.limit = 2;
    CHECK(log.recent(limited).size() == 2);

    // Counters cover every request, including the one that left the ring.
    const auto counters = log.counters();
    CHECK(counters.by_status.at(200) == 2);
    CHECK(counters.by_status.at(403) == 1);
    CHECK(counters.refused_by_reason.at("no_rule") == 1);
    CHECK(counters.bytes_out == 400);
}

TEST_CASE("the request log takes records from several threads at once") {
    telemetry::RequestLog log(100);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 1000; ++i) log.record(request("/x", 200));
        });
    for (auto& thread : threads) thread.join();
    CHECK(log.counters().by_status.at(200) == 4000);
    telemetry::RequestFilter everything;
    everything.limit = 1000;
    CHECK(log.recent(everything).size() == 100);
}

TEST_CASE("a link row goes from Connecting to Failed and keeps its first failure time") {
    proxy::LinkBoard board([] { return std::vector<std::string>{"join.example.com"}; });
    board.connecting("edge1:7443#0", "edge1:7443", "edge1.example.com");
    auto rows = board.snapshot();
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].state == LinkState::connecting);
    CHECK(rows[0].name == "edge1.example.com");
    CHECK(rows[0].domains == std::vector<std::string>{"join.example.com"});

    board.failed("edge1:7443#0", "cannot connect: Connection refused");
    const auto first_failure = board.snapshot()[0].since;
    board.failed("edge1:7443#0", "TLS handshake failed: certificate verify failed");
    rows = board.snapshot();
    CHECK(rows[0].state == LinkState::failed);
    CHECK(rows[0].reason == "TLS handshake failed: certificate verify failed");
    CHECK(rows[0].since == first_failure);

    board.remove("edge1:7443#0");
    CHECK(board.snapshot().empty());
    // A failure for a row that does not exist (never came up) adds nothing.
    board.failed("unknown", "closed");
    CHECK(board.snapshot().empty());
}

TEST_CASE("link states have the names operators know") {
    CHECK(std::string(telemetry::to_string(LinkState::active)) == "Active");
    CHECK(std::string(telemetry::to_string(LinkState::connecting)) == "Connecting");
    CHECK(std::string(telemetry::to_string(LinkState::failed)) == "Failed");
    const auto at = telemetry::Clock::time_point(std::chrono::milliseconds(1764099903120));
    CHECK(telemetry::iso8601(at) == "2025-11-25T19:45:03.120Z");
}
