// Client-side building blocks shared by the test clients: where to connect and how to trust the
// server, the TLS context, connecting, and running a coroutine to completion synchronously.
#pragma once

#include "tests/support/wait.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <cstdint>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <vector>

namespace edgeway::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

struct TlsTarget {
    std::string address = "127.0.0.1";  // a loopback address
    std::uint16_t port = 0;
    std::filesystem::path ca_file;           // the server must chain to it ("" = do not verify)
    std::string server_name = "localhost";   // SNI and the name the certificate must match
    std::string host_header;                 // "" = "<server_name>:<port>", as a browser sends it
    std::filesystem::path certificate_file;  // client certificate (mutual TLS), optional
    std::filesystem::path private_key_file;
    std::vector<std::string> alpn = {"http/1.1"};
    Millis timeout = 15000ms;  // for each network operation

    std::string host() const {
        return host_header.empty() ? server_name + ":" + std::to_string(port) : host_header;
    }
};

std::shared_ptr<ssl::context> make_context(const TlsTarget& target);

// TCP connect to 127.0.0.1:port and TLS handshake (SNI, name verification) within target.timeout.
net::awaitable<void> async_connect(TlsStream& stream, const TlsTarget& target);

// Runs io until task completes (not until io runs out of work: a WebSocket keeps an idle timer
// pending between operations); rethrows the task's exception.
template <typename T>
T run_sync(net::io_context& io, net::awaitable<T> task) {
    auto future = net::co_spawn(io, std::move(task), net::use_future);
    io.restart();
    while (future.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
        if (io.run_one() == 0) break;  // out of work: the future is ready, or never will be
    }
    return future.get();
}

}  // namespace edgeway::test
