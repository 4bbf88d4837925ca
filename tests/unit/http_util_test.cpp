// Unit tests for the proxy's small HTTP helpers and the reconnect backoff.
#include "proxy/http_util.hpp"
#include "proxy/backoff.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace edgeway::proxy;

TEST_CASE("host_of normalises Host headers and refuses junk", "[unit][http]") {
    CHECK(host_of("Join.Example.COM") == "join.example.com");
    CHECK(host_of("join.example.com:8443") == "join.example.com");
    CHECK(host_of("join.example.com.") == "join.example.com");
    CHECK(host_of("[::1]:443") == "[::1]");
    CHECK(host_of("").empty());
    CHECK(host_of("a.com:").empty());
    CHECK(host_of("a.com:99x").empty());
    CHECK(host_of("a.com/evil").empty());
    CHECK(host_of("a.com@b.com").empty());
    CHECK(host_of("[::1").empty());
}

TEST_CASE("hop-by-hop headers are recognised", "[unit][http]") {
    for (const char* name :
         {"connection", "keep-alive", "transfer-encoding", "upgrade", "te", "proxy-authorization"})
        CHECK(is_hop_by_hop(name));
    for (const char* name : {"content-length", "cookie", "sec-websocket-key", "host"})
        CHECK_FALSE(is_hop_by_hop(name));
}

TEST_CASE("trace ids are 16 hex digits and differ", "[unit][http]") {
    const std::string a = new_trace_id(), b = new_trace_id();
    CHECK(a.size() == 16);
    CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(a != b);
}

TEST_CASE("backoff grows exponentially with jitter, is capped and resets", "[unit][backoff]") {
    using std::chrono::milliseconds;
    Backoff backoff(milliseconds(100), milliseconds(1000), 42);
    const auto first = backoff.next();
    CHECK(first >= milliseconds(50));
    CHECK(first <= milliseconds(100));
    const auto second = backoff.next();
    CHECK(second >= milliseconds(100));
    CHECK(second <= milliseconds(200));
    // Ceilings 400, 800, then capped at 1000; each delay is in the upper half of its ceiling.
    for (int attempt = 2; attempt < 32; ++attempt) {
        const auto ceiling =
            milliseconds(std::min<long long>(1000, 100LL << std::min(attempt, 20)));
        const auto d = backoff.next();
        CHECK(d <= ceiling);
        CHECK(d >= ceiling / 2);
    }
    backoff.reset();
    CHECK(backoff.next() <= milliseconds(100));
}
