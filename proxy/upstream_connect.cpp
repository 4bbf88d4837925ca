#include "proxy/upstream_connect.hpp"

#include "allowlist/allowlist.hpp"
#include "proxy/http_util.hpp"
#include "tls/tls.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <algorithm>

namespace edgeway::proxy {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;

awaitable<std::unique_ptr<tls::Stream>> connect_upstream(const std::string& address,
                                                         const UpstreamConnect& how,
                                                         asio::ssl::context& context,
                                                         std::string& reason) {
    auto executor = co_await asio::this_coro::executor;
    const auto colon = address.rfind(':');
    const std::string host = without_brackets(address.substr(0, colon));
    tcp::resolver resolver(executor);
    auto [resolve_error, endpoints] = co_await resolver.async_resolve(
        host, address.substr(colon + 1), asio::as_tuple(use_awaitable));
    if (resolve_error) {
        reason = "cannot resolve " + host + " (DNS failure): " + resolve_error.message();
        co_return nullptr;
    }
    boost::beast::tcp_stream connection(executor);
    connection.expires_after(how.timeout);
    auto [connect_error, endpoint] =
        co_await connection.async_connect(endpoints, asio::as_tuple(use_awaitable));
    if (connect_error) {
        reason = "cannot connect: " + (connect_error == boost::beast::error::timeout
                                           ? std::string("timed out")
                                           : connect_error.message());
        co_return nullptr;
    }
    connection.socket().set_option(tcp::no_delay(true));
    auto stream = std::make_unique<tls::Stream>(connection.release_socket(), context);
    stream->expires_after(how.timeout);
    tls::prepare_client(stream->native_handle(), how.server_name, how.verify);
    auto [handshake_error] = co_await stream->async_handshake(asio::ssl::stream_base::client,
                                                              asio::as_tuple(use_awaitable));
    if (handshake_error) {
        reason = "TLS handshake failed: " + tls::describe(handshake_error, stream->native_handle());
        co_return nullptr;
    }
    co_return stream;
}

awaitable<std::vector<std::string>> resolve_upstream(const std::string& host, std::uint16_t port,
                                                     std::string& reason) {
    const std::string name = without_brackets(host);
    tcp::resolver resolver(co_await asio::this_coro::executor);
    auto [ec, endpoints] =
        co_await resolver.async_resolve(name, std::to_string(port), asio::as_tuple(use_awaitable));
    std::vector<std::string> addresses;
    if (ec) {
        reason = "cannot resolve web bridge " + name + " (DNS failure): " + ec.message();
        co_return addresses;
    }
    for (const auto& entry : endpoints) {
        std::string address =
            allowlist::target_endpoint({name, entry.endpoint().address().to_string()}, port);
        if (std::find(addresses.begin(), addresses.end(), address) == addresses.end())
            addresses.push_back(std::move(address));
    }
    co_return addresses;
}

}  // namespace edgeway::proxy
