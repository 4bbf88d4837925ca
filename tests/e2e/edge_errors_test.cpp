// What the edge answers itself: no link, foreign Host, malformed or oversized requests, slow
// clients.
#include "tests/e2e/e2e.hpp"

using namespace edgeway::test;

namespace {

ApplianceOptions with_edge_limits(json limits) {
    ApplianceOptions options;
    options.edge_patch = {{"limits", std::move(limits)}};
    return options;
}

RawResult send_raw(const Appliance& app, std::string request, Millis timeout = 5s) {
    RawExchange exchange;
    exchange.first = std::move(request);
    exchange.timeout = timeout;
    auto result = raw_tls_exchange(app.target(), std::move(exchange));
    REQUIRE(result.handshake_ok);
    return result;
}

// A chunked body of `bytes` in 64 KiB chunks, then the last chunk.
std::function<std::string()> chunked_body(std::uint64_t bytes) {
    auto sent = std::make_shared<std::uint64_t>(0);
    auto finished = std::make_shared<bool>(false);
    return [=]() -> std::string {
        if (*sent >= bytes) {
            if (*finished) return "";
            *finished = true;
            return "0\r\n\r\n";
        }
        const auto n = std::min<std::uint64_t>(64 * 1024, bytes - *sent);
        *sent += n;
        char size[32];
        std::snprintf(size, sizeof size, "%llx\r\n", static_cast<unsigned long long>(n));
        return size + std::string(n, 'b') + "\r\n";
    };
}

}  // namespace

TEST_CASE("without a link the edge answers 503 at once", "[e2e][edge]") {
    ApplianceOptions options;
    options.start_core = false;
    Appliance app(options);

    const auto start = Clock::now();
    const auto response = https_get(app.target(), "/");
    const auto ms = elapsed_ms(start);
    CHECK(response.status == 503);
    CHECK_THAT(response.header("content-type"), StartsWith("text/html"));
    CHECK_FALSE(response.body.empty());
    CHECK(ms < 1000);

    REQUIRE_THROWS_WITH(WebSocketClient(app.target(), "/ws/echo"), Contains("HTTP status 503"));
}

TEST_CASE("a Host that no rule allows gets 403 and never reaches the web bridge", "[e2e][edge]") {
    Appliance app;
    auto foreign = app.target();
    // SNI and Host agree (else 421); the edge's certificate does not cover the name, so the
    // client does not verify it, as an attacker would not.
    foreign.server_name = "intranet.example.test";
    foreign.ca_file = "";
    foreign.host_header = "intranet.example.test";
    const auto refused = https_get(foreign, "/echo-headers?probe=foreign-host");
    CHECK(refused.status == 403);
    app.edge().require_log(R"(access trace=\S+ .*host=intranet\.example\.test.* status=403 )", 5s);

    // A request made afterwards reaches the core and the web bridge, so their logs are
    // complete up to here: the refused one would be in them by now.
    CHECK(https_get(app.target(), "/health?probe=after").status == 200);
    app.webbridge().require_log(R"(GET /health\?probe=after 200 )", 5s);
    app.core().require_log(access_line("/health"), 5s);
    CHECK(app.webbridge().log().count("foreign-host") == 0);
    CHECK(app.core().log().count("foreign-host") == 0);
    CHECK(app.core().log().count("intranet") == 0);
}

TEST_CASE("a malformed request line gets 400", "[e2e][edge]") {
    Appliance app;
    for (const char* request :
         {"THIS IS NOT A REQUEST LINE AT ALL\r\n\r\n", "GET /\r\nHost: localhost\r\n\r\n",
          "GET / HTTP/1.1 trailing\r\nHost: localhost\r\n\r\n"}) {
        INFO(request);
        const auto result = send_raw(app, request);
        INFO(result.received);
        CHECK(result.status() == 400);
    }
    CHECK(app.webbridge().log().count(R"(^\S+ \S+ +webbridge-demo: [A-Z]+ /)") == 0);
}

TEST_CASE("a request without Host gets 400", "[e2e][edge]") {
    Appliance app;
    const auto result = send_raw(app, "GET / HTTP/1.1\r\nUser-Agent: t\r\n\r\n");
    INFO(result.received);
    CHECK(result.status() == 400);
}

TEST_CASE("headers over max_header_bytes get 431", "[e2e][edge]") {
    Appliance app;  // max_header_bytes 16384
    std::string request = "GET /health HTTP/1.1\r\nHost: " + app.target().host() + "\r\n";
    for (int i = 0; i < 20; ++i) {
        request += "X-Padding-" + std::to_string(i) + ": " + std::string(1024, 'p') + "\r\n";
    }
    request += "\r\n";
    const auto result = send_raw(app, request);
    INFO(result.received);
    CHECK(result.status() == 431);

    // Just under the limit is fine.
    std::string small = "GET /health HTTP/1.1\r\nHost: " + app.target().host() + "\r\n";
    for (int i = 0; i < 10; ++i) {
        small += "X-Padding-" + std::to_string(i) + ": " + std::string(1024, 'p') + "\r\n";
    }
    small += "Connection: close\r\n\r\n";
    CHECK(send_raw(app, small).status() == 200);
}

TEST_CASE("a body over max_body_bytes announced by Content-Length gets 413", "[e2e][edge]") {
    Appliance app(with_edge_limits({{"max_body_bytes", 1 * MiB}}));
    const auto result =
        send_raw(app, "POST /upload HTTP/1.1\r\nHost: " + app.target().host() +
                          "\r\nContent-Length: " + std::to_string(2 * MiB) + "\r\n\r\n");
    INFO(result.received);
    CHECK(result.status() == 413);
    CHECK(app.webbridge().log().count("POST /upload") == 0);

    // A body of exactly the limit passes.
    const auto upload = https_upload(app.target(), "/upload", 1 * MiB, false);
    CHECK(upload.response.status == 200);
}

TEST_CASE("a chunked body growing over max_body_bytes gets 413", "[e2e][edge]") {
    Appliance app(with_edge_limits({{"max_body_bytes", 1 * MiB}}));
    RawExchange exchange;
    exchange.first = "POST /upload HTTP/1.1\r\nHost: " + app.target().host() +
                     "\r\nTransfer-Encoding: chunked\r\n\r\n";
    exchange.more = chunked_body(2 * MiB);
    exchange.timeout = 10s;
    const auto result = raw_tls_exchange(app.target(), std::move(exchange));
    REQUIRE(result.handshake_ok);
    INFO(result.received << "\nread: " << result.read_error << "\nwrite: " << result.write_error);
    CHECK(result.status() == 413);

    const auto upload = https_upload(app.target(), "/upload", 1 * MiB, true);
    CHECK(upload.response.status == 200);
}

TEST_CASE("a client sending headers too slowly is cut off after header_timeout_ms", "[e2e][edge]") {
    Appliance app(with_edge_limits({{"header_timeout_ms", 500}}));

    SECTION("headers that stop half-way") {
        const auto result =
            send_raw(app, "GET /health HTTP/1.1\r\nHost: " + app.target().host() + "\r\n", 5s);
        INFO(result.received << "\nread: " << result.read_error);
        CHECK_FALSE(result.timed_out);
        CHECK((result.closed || result.status() == 408));
        CHECK(result.ms_until_end >= 400);
        CHECK(result.ms_until_end < 3000);
    }
    SECTION("headers trickled a line at a time") {
        RawExchange exchange;
        exchange.first = "GET /health HTTP/1.1\r\n";
        auto lines = std::make_shared<int>(0);
        exchange.more = [lines] {
            return ++*lines <= 50 ? "X-Slow-" + std::to_string(*lines) + ": 1\r\n" : std::string();
        };
        exchange.pace = 100ms;
        exchange.timeout = 8s;
        const auto result = raw_tls_exchange(app.target(), std::move(exchange));
        REQUIRE(result.handshake_ok);
        INFO(result.received << "\nread: " << result.read_error);
        CHECK_FALSE(result.timed_out);
        CHECK((result.closed || result.status() == 408));
        CHECK(result.ms_until_end < 3000);
    }
}

TEST_CASE("an idle keep-alive connection is closed after keepalive_timeout_ms", "[e2e][edge]") {
    Appliance app(with_edge_limits({{"keepalive_timeout_ms", 300}}));
    RawExchange exchange;
    exchange.first = "GET /health HTTP/1.1\r\nHost: " + app.target().host() + "\r\n\r\n";
    exchange.timeout = 5s;
    exchange.stop_at_response = false;  // answered, then kept open until the idle time is up
    const auto result = raw_tls_exchange(app.target(), std::move(exchange));
    REQUIRE(result.handshake_ok);
    INFO(result.received << "\nread: " << result.read_error);
    CHECK(result.status() == 200);
    CHECK(result.closed);
    CHECK_FALSE(result.timed_out);
    CHECK(result.ms_until_end >= 300);
    CHECK(result.ms_until_end < 3000);
}
