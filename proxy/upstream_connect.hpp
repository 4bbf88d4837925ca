// Reaching one web bridge target: the request path (upstream.cpp) and the health checker
// (upstream_checker.cpp) connect the same way, so that a check means what a request would meet.
#pragma once

#include "proxy/proxy.hpp"
#include "tls/stream.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <string>
#include <vector>

namespace edgeway::proxy {

struct UpstreamConnect {
    std::string server_name;  // checked in the certificate (unless verify is off), sent as SNI
    bool verify = true;
    Millis timeout{5000};  // for the TCP connect, then for the TLS handshake
};

// A TLS connection to address ("10.0.0.6:443", "[fd00::6]:443"; a name is resolved first), or
// null with the reason in words: "cannot connect: Connection refused", "cannot connect: timed
// out", "TLS handshake failed: certificate verify failed (...)".
boost::asio::awaitable<std::unique_ptr<tls::Stream>> connect_upstream(
    const std::string& address, const UpstreamConnect& how, boost::asio::ssl::context& context,
    std::string& reason);

// host:port through the system resolver, as target addresses ("10.0.0.6:443"), each once, in
// the resolver's order; empty, with the reason, on failure.
boost::asio::awaitable<std::vector<std::string>> resolve_upstream(const std::string& host,
                                                                  std::uint16_t port,
                                                                  std::string& reason);

}  // namespace edgeway::proxy
