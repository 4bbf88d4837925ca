// Many concurrent requests and WebSockets share one link (one edge worker, one link).
#include "tests/e2e/e2e.hpp"

#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>

#include <atomic>

using namespace edgeway::test;

namespace {

constexpr int kClients = 200;

struct Tally {
    std::atomic<int> ok{0};
    std::atomic<int> failed{0};
    std::string first_failure;  // written on the single io thread only
    void fail(std::string why) {
        if (failed++ == 0) first_failure = std::move(why);
    }
};

auto tally_handler(Tally& tally, std::string what) {
    return [&tally, what](std::exception_ptr error) {
        if (!error) return;
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& e) {
            tally.fail(what + ": " + e.what());
        }
    };
}

net::awaitable<void> request_one(TlsStream& stream, TlsTarget target, std::size_t bytes,
                                 Tally& tally) {
    beast::flat_buffer buffer;
    auto response = co_await async_request(
        stream, buffer,
        make_request(target, http::verb::get, "/download?bytes=" + std::to_string(bytes)),
        target.timeout);
    if (response.status != 200) {
        tally.fail("status " + std::to_string(response.status) + " for " + std::to_string(bytes));
    } else if (response.body != pattern_bytes(0, bytes)) {
        tally.fail("wrong body for " + std::to_string(bytes) + " bytes (got " +
                   std::to_string(response.body.size()) + ")");
    } else {
        ++tally.ok;
    }
}

net::awaitable<void> echo_some(WsStream& ws, int id, Tally& tally) {
    for (int i = 0; i < 3; ++i) {
        const std::string sent = "client " + std::to_string(id) + " message " + std::to_string(i) +
                                 " " + std::string(static_cast<std::size_t>(id * 10 + i), 'x');
        ws.text(true);
        co_await ws.async_write(net::buffer(sent), net::use_awaitable);
        beast::flat_buffer buffer;
        co_await ws.async_read(buffer, net::use_awaitable);
        if (beast::buffers_to_string(buffer.data()) != sent) {
            tally.fail("client " + std::to_string(id) + " got a wrong echo");
            co_return;
        }
    }
    co_await ws.async_close(websocket::close_code::normal, net::use_awaitable);
    ++tally.ok;
}

}  // namespace

TEST_CASE("200 concurrent requests over one link all succeed with the right bodies",
          "[e2e][load]") {
    Appliance app;
    auto target = app.target();
    target.timeout = 30s;
    net::io_context io;
    auto context = make_context(target);

    // All connections first, so that the requests are in flight together.
    std::vector<std::unique_ptr<TlsStream>> streams;
    Tally connects;
    for (int i = 0; i < kClients; ++i) {
        streams.push_back(std::make_unique<TlsStream>(io, *context));
        net::co_spawn(io, async_connect(*streams.back(), target),
                      tally_handler(connects, "connect"));
    }
    io.run();
    INFO(connects.first_failure);
    REQUIRE(connects.failed == 0);

    Tally requests;
    for (int i = 0; i < kClients; ++i) {
        const std::size_t bytes = 1000 + static_cast<std::size_t>(i) * 997;
        net::co_spawn(io,
                      request_one(*streams[static_cast<std::size_t>(i)], target, bytes, requests),
                      tally_handler(requests, "request"));
    }
    const auto start = Clock::now();
    io.restart();
    io.run();
    INFO(requests.first_failure);
    CHECK(requests.failed == 0);
    CHECK(requests.ok == kClients);
    CHECK(elapsed_ms(start) < 20000);
    CHECK(app.edge_links_up() == 1);
    CHECK(wait_until([&] { return app.edge().log().count(access_line("/download")) >= kClients; },
                     5s));
}

TEST_CASE("200 concurrent WebSockets over one link each echo their own messages",
          "[e2e][load][websocket]") {
    Appliance app;
    auto target = app.target();
    target.timeout = 30s;
    net::io_context io;
    auto context = make_context(target);

    std::vector<std::unique_ptr<WsStream>> sockets;
    Tally connects;
    for (int i = 0; i < kClients; ++i) {
        sockets.push_back(std::make_unique<WsStream>(io, *context));
        net::co_spawn(io, async_ws_connect(*sockets.back(), target, "/ws/echo"),
                      tally_handler(connects, "connect"));
    }
    io.run();
    INFO(connects.first_failure);
    REQUIRE(connects.failed == 0);

    Tally echoes;
    for (int i = 0; i < kClients; ++i) {
        net::co_spawn(io, echo_some(*sockets[static_cast<std::size_t>(i)], i, echoes),
                      tally_handler(echoes, "echo"));
    }
    io.restart();
    io.run();
    INFO(echoes.first_failure);
    CHECK(echoes.failed == 0);
    CHECK(echoes.ok == kClients);
    CHECK(app.edge_links_up() == 1);
}
