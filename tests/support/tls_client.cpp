#include "tests/support/tls_client.hpp"

#include "tls/tls.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace edgeway::test {

std::shared_ptr<ssl::context> make_context(const TlsTarget& target) {
    tls::ClientOptions options;
    options.ca_file = target.ca_file;
    options.insecure = target.ca_file.empty();
    options.certificate_file = target.certificate_file;
    options.private_key_file = target.private_key_file;
    options.alpn = target.alpn;
    return tls::make_client_context(options);
}

net::awaitable<void> async_connect(TlsStream& stream, const TlsTarget& target) {
    auto& socket = beast::get_lowest_layer(stream);
    socket.expires_after(target.timeout);
    co_await socket.async_connect(tcp::endpoint(net::ip::make_address(target.address), target.port),
                                  net::use_awaitable);
    tls::prepare_client(stream.native_handle(), target.server_name, !target.ca_file.empty());
    co_await stream.async_handshake(ssl::stream_base::client, net::use_awaitable);
    socket.expires_never();
}

}  // namespace edgeway::test
