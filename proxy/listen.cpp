#include "proxy/listen.hpp"

#include <fmt/format.h>
#include <boost/asio/ip/tcp.hpp>

#include <sys/socket.h>
#include <stdexcept>

namespace edgeway::proxy {

namespace asio = boost::asio;
using asio::ip::tcp;

tcp::endpoint parse_endpoint(const std::string& address) {
    const auto colon = address.rfind(':');
    if (colon == std::string::npos) throw std::runtime_error("bad address " + address);
    std::string host = address.substr(0, colon);
    const std::string port = address.substr(colon + 1);
    if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
    asio::io_context io;
    tcp::resolver resolver(io);
    boost::system::error_code ec;
    auto results = resolver.resolve(host, port, tcp::resolver::passive, ec);
    if (ec || results.empty())
        throw std::runtime_error(fmt::format("cannot resolve {}: {}", address, ec.message()));
    return results.begin()->endpoint();
}

tcp::acceptor bind_acceptor(asio::io_context& io, const tcp::endpoint& endpoint, bool reuse_port,
                            const std::string& what) {
    tcp::acceptor acceptor(io);
    boost::system::error_code ec;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec && reuse_port) {
        const int one = 1;
        if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
            ec.assign(errno, boost::system::system_category());
    }
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
        throw std::runtime_error(
            fmt::format("cannot listen for {} on {}: {}", what, to_string(endpoint), ec.message()));
    return acceptor;
}

std::string to_string(const tcp::endpoint& endpoint) {
    const auto address = endpoint.address();
    return address.is_v6() ? fmt::format("[{}]:{}", address.to_string(), endpoint.port())
                           : fmt::format("{}:{}", address.to_string(), endpoint.port());
}

}  // namespace edgeway::proxy
