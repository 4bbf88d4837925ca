// The core's side of a stream: forward one request from the link to the web bridge.
#pragma once

#include "proxy/link_stream.hpp"
#include "proxy/proxy.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>

#include <memory>

namespace edgeway::proxy {

struct UpstreamContext {
    const CoreConfig& config;
    Logger& log;
    std::shared_ptr<boost::asio::ssl::context> tls;
};

// Connects to the web bridge, sends the request (streaming its body), and streams the response
// (or, for a WebSocket, the bytes both ways) back on the link stream. Answers 502/504 itself
// when the web bridge cannot be reached or does not answer.
boost::asio::awaitable<void> forward_upstream(const UpstreamContext& context,
                                              std::shared_ptr<LinkStream> stream);

}  // namespace edgeway::proxy
