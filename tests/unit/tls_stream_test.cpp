// Unit tests for tls::Stream, the TLS stream in which OpenSSL reads and writes the socket itself:
// real handshakes and transfers over loopback inside the test process, against itself and
// against asio::ssl::stream.
#include "tests/support/data.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/tls_client.hpp"

#include "tls/stream.hpp"
#include "tls/tls.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <catch2/catch.hpp>

#include <chrono>

using namespace edgeway;
using namespace edgeway::test;
using namespace std::chrono_literals;
using namespace boost::asio::experimental::awaitable_operators;
using net::as_tuple;
using net::use_awaitable;

namespace {

net::awaitable<boost::system::error_code> handshake(tls::Stream& stream,
                                                    ssl::stream_base::handshake_type type) {
    auto [ec] = co_await stream.async_handshake(type, as_tuple(use_awaitable));
    co_return ec;
}

// A lab PKI and the two contexts, plus a listening socket on 127.0.0.1.
struct Pair {
    TempDir dir;
    tls::LabPki pki = tls::ensure_lab_pki(dir.path(), {});
    std::shared_ptr<ssl::context> server_context =
        tls::make_server_context({pki.edge_cert(), pki.edge_key(), {}, {}});
    std::shared_ptr<ssl::context> client_context =
        tls::make_client_context({pki.ca_cert(), false, {}, {}, {}});
    net::io_context io;
    tcp::acceptor acceptor{io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)};

    net::awaitable<tls::Stream> accept() {
        tcp::socket socket = co_await acceptor.async_accept(use_awaitable);
        co_return tls::Stream(std::move(socket), *server_context);
    }
    net::awaitable<tls::Stream> connect() {
        tcp::socket socket(io);
        co_await socket.async_connect(acceptor.local_endpoint(), use_awaitable);
        co_return tls::Stream(std::move(socket), *client_context);
    }
    // Both sides of a completed handshake.
    net::awaitable<std::pair<tls::Stream, tls::Stream>> handshaken() {
        auto [server, client] = co_await (accept() && connect());
        tls::prepare_client(client.native_handle(), "localhost", true);
        server.expires_after(5s);
        client.expires_after(5s);
        auto [server_error, client_error] = co_await (handshake(server, ssl::stream_base::server) &&
                                                      handshake(client, ssl::stream_base::client));
        REQUIRE_FALSE(server_error);
        REQUIRE_FALSE(client_error);
        co_return std::pair{std::move(server), std::move(client)};
    }
};

// Writes data whole, then reads expected.size() bytes; returns what was read.
net::awaitable<std::string> exchange(tls::Stream& stream, const std::string& data,
                                     std::size_t expected) {
    std::string received(expected, '\0');
    auto writer = [&]() -> net::awaitable<void> {
        auto [ec, n] =
            co_await net::async_write(stream, net::buffer(data), as_tuple(use_awaitable));
        REQUIRE_FALSE(ec);
    };
    auto reader = [&]() -> net::awaitable<void> {
        auto [ec, n] =
            co_await net::async_read(stream, net::buffer(received), as_tuple(use_awaitable));
        REQUIRE_FALSE(ec);
    };
    co_await (writer() && reader());
    co_return received;
}

}  // namespace

TEST_CASE("tls::Stream carries 8 MiB each way at once, byte for byte", "[unit][tls]") {
    Pair pair;
    const std::string up = RandomStream(1).bytes(8 << 20);
    const std::string down = RandomStream(2).bytes(8 << 20);
    run_sync(pair.io, [&]() -> net::awaitable<void> {
        auto [server, client] = co_await pair.handshaken();
        server.expires_never();
        client.expires_never();
        auto [at_server, at_client] =
            co_await (exchange(server, down, up.size()) && exchange(client, up, down.size()));
        CHECK(sha256_hex(at_server) == sha256_hex(up));
        CHECK(sha256_hex(at_client) == sha256_hex(down));
    }());
}

TEST_CASE("tls::Stream talks to asio::ssl::stream both ways", "[unit][tls]") {
    Pair pair;
    const std::string message = RandomStream(3).bytes(100000);
    run_sync(pair.io, [&]() -> net::awaitable<void> {
        auto server_side = [&]() -> net::awaitable<std::string> {
            tls::Stream server = co_await pair.accept();
            server.expires_after(5s);
            auto [ec] =
                co_await server.async_handshake(ssl::stream_base::server, as_tuple(use_awaitable));
            REQUIRE_FALSE(ec);
            co_return co_await exchange(server, message, message.size());
        };
        auto asio_client = [&]() -> net::awaitable<std::string> {
            TlsTarget target;
            target.port = pair.acceptor.local_endpoint().port();
            target.server_name = "localhost";
            target.ca_file = pair.pki.ca_cert();
            TlsStream client(pair.io, *make_context(target));
            co_await async_connect(client, target);
            std::string received(message.size(), '\0');
            co_await (net::async_write(client, net::buffer(message), use_awaitable) &&
                      net::async_read(client, net::buffer(received), use_awaitable));
            co_return received;
        };
        auto [at_server, at_client] = co_await (server_side() && asio_client());
        CHECK(at_server == message);
        CHECK(at_client == message);
    }());
}

TEST_CASE("tls::Stream reports close_notify as eof and a cut connection as truncated",
          "[unit][tls]") {
    Pair pair;
    run_sync(pair.io, [&]() -> net::awaitable<void> {
        {
            // The server's shutdown waits for the client's end of the connection.
            auto [server, client] = co_await pair.handshaken();
            auto shutdown = [&]() -> net::awaitable<boost::system::error_code> {
                auto [ec] = co_await server.async_shutdown(as_tuple(use_awaitable));
                co_return ec;
            };
            auto read_to_end = [&]() -> net::awaitable<boost::system::error_code> {
                char byte;
                auto [ec, n] =
                    co_await client.async_read_some(net::buffer(&byte, 1), as_tuple(use_awaitable));
                client.close();
                co_return ec;
            };
            const auto start = std::chrono::steady_clock::now();
            auto [shutdown_error, read_error] = co_await (shutdown() && read_to_end());
            CHECK_FALSE(shutdown_error);
            CHECK(read_error == net::error::eof);
            CHECK(std::chrono::steady_clock::now() - start < 4s);  // not the 5 s deadline
        }
        {
            auto [server, client] = co_await pair.handshaken();
            server.close();
            char byte;
            auto [ec, n] =
                co_await client.async_read_some(net::buffer(&byte, 1), as_tuple(use_awaitable));
            CHECK(ec == ssl::error::stream_truncated);
            CHECK(tls::describe(ec) == "peer closed without TLS close_notify");
        }
    }());
}

TEST_CASE("tls::Stream's deadline ends a silent handshake and a silent read with timeout",
          "[unit][tls]") {
    Pair pair;
    run_sync(pair.io, [&]() -> net::awaitable<void> {
        {
            // The server accepts TCP but never answers the ClientHello.
            auto [server, client] = co_await (pair.accept() && pair.connect());
            client.expires_after(300ms);
            const auto start = std::chrono::steady_clock::now();
            auto [ec] =
                co_await client.async_handshake(ssl::stream_base::client, as_tuple(use_awaitable));
            CHECK(ec == boost::beast::error::timeout);
            CHECK(std::chrono::steady_clock::now() - start >= 250ms);
            CHECK_FALSE(client.socket().is_open());
        }
        {
            auto [server, client] = co_await pair.handshaken();
            client.expires_after(300ms);
            char byte;
            auto [ec, n] =
                co_await client.async_read_some(net::buffer(&byte, 1), as_tuple(use_awaitable));
            CHECK(ec == boost::beast::error::timeout);
        }
        {
            // A deadline already passed fails the next operation at once.
            auto [server, client] = co_await pair.handshaken();
            client.expires_after(0ms);
            char byte;
            auto [ec, n] =
                co_await client.async_read_some(net::buffer(&byte, 1), as_tuple(use_awaitable));
            CHECK(ec == boost::beast::error::timeout);
        }
    }());
}

TEST_CASE("tls::Stream's handshake names a certificate that fails verification", "[unit][tls]") {
    Pair pair;
    TempDir other_dir;
    const auto other = tls::ensure_lab_pki(other_dir.path(), {});
    auto foreign_client = tls::make_client_context({other.ca_cert(), false, {}, {}, {}});
    run_sync(pair.io, [&]() -> net::awaitable<void> {
        auto [server, connected] = co_await (pair.accept() && pair.connect());
        tls::Stream client(std::move(connected.socket()), *foreign_client);
        tls::prepare_client(client.native_handle(), "localhost", true);
        server.expires_after(5s);
        client.expires_after(5s);
        auto [server_error, client_error] = co_await (handshake(server, ssl::stream_base::server) &&
                                                      handshake(client, ssl::stream_base::client));
        REQUIRE(client_error);
        CHECK_THAT(tls::describe(client_error, client.native_handle()),
                   Catch::Contains("certificate verify failed"));
    }());
}

TEST_CASE("tls::Stream waits for readability without a buffer", "[unit][tls]") {
    Pair pair;
    run_sync(pair.io, [&]() -> net::awaitable<void> {
        auto [server, client] = co_await pair.handshaken();
        server.expires_never();
        client.expires_never();
        // A first message also carries TLS 1.3's session tickets past the client, so that the
        // wait below is about application data only.
        co_await exchange(server, "a", 0);
        char first;
        co_await net::async_read(client, net::buffer(&first, 1), use_awaitable);
        bool readable = false;
        auto waiter = [&]() -> net::awaitable<void> {
            co_await client.async_wait_readable(use_awaitable);
            readable = true;
        };
        auto sender = [&]() -> net::awaitable<void> {
            // Whatever was ready to run has run: nothing was sent, so the wait is still pending.
            co_await net::post(pair.io, use_awaitable);
            co_await net::post(pair.io, use_awaitable);
            CHECK_FALSE(readable);
            co_await net::async_write(server, net::buffer("ping", 4), use_awaitable);
        };
        co_await (waiter() && sender());
        CHECK(readable);
        char text[4];
        co_await net::async_read(client, net::buffer(text), use_awaitable);
        CHECK(std::string_view(text, 4) == "ping");
    }());
}
