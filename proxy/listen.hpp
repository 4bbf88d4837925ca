// Binding listeners from "host:port" strings.
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <string>

namespace edgeway::proxy {

// Resolves "host:port" / "[v6]:port" to one endpoint (numeric or a name of this machine).
boost::asio::ip::tcp::endpoint parse_endpoint(const std::string& address);

// An acceptor bound to endpoint; with reuse_port several workers can bind the same port.
// Throws std::runtime_error naming what and the address.
boost::asio::ip::tcp::acceptor bind_acceptor(boost::asio::io_context& io,
                                             const boost::asio::ip::tcp::endpoint& endpoint,
                                             bool reuse_port, const std::string& what);

std::string to_string(const boost::asio::ip::tcp::endpoint& endpoint);

}  // namespace edgeway::proxy
