// The core's side of a stream: forward one request from the link to the web bridge.
#pragma once

#include "proxy/inside_resolver.hpp"
#include "proxy/link_stream.hpp"
#include "proxy/live_config.hpp"
#include "proxy/proxy.hpp"
#include "proxy/shared_rules.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include "tls/stream.hpp"

#include <chrono>
#include <memory>
#include <vector>

namespace edgeway::proxy {

struct UpstreamContext {
    // Each stream takes the snapshot current when it arrives (timeouts, verification).
    const LiveConfig<CoreConfig>& config;
    Logger& log;
    // The web bridge client context, swapped whole when its CA file is reloaded: a new
    // connection takes the current one.
    std::atomic<std::shared_ptr<boost::asio::ssl::context>> tls;
    const SharedRules& rules;
    const InsideResolver& resolver;
    telemetry::RequestLog& requests;
};

using UpstreamStream = tls::Stream;

// Idle keep-alive connections to the web bridge, one pool per worker thread (no locks). Saves a
// TCP and TLS handshake per request; only requests without a body use a pooled connection, so a
// connection the web bridge closed meanwhile can be retried on a new one without loss.
class UpstreamPool {
  public:
    // The most recently used connection to key ("host:port") that still looks open, or null.
    std::unique_ptr<UpstreamStream> take(const std::string& key);
    void put(std::string key, std::unique_ptr<UpstreamStream> stream);

  private:
    struct Idle {
        std::string key;
        std::unique_ptr<UpstreamStream> stream;
        std::chrono::steady_clock::time_point since;
    };
    std::vector<Idle> idle_;
};

class WebSocketSet;

// Connects to the web bridge, sends the request (streaming its body), and streams the response
// (or, for a WebSocket, the bytes both ways) back on the link stream. Answers 502/504 itself
// when the web bridge cannot be reached or does not answer.
// A WebSocket registers in `websockets` (the worker's), where a drain finds it to close it.
boost::asio::awaitable<void> forward_upstream(const UpstreamContext& context, UpstreamPool& pool,
                                              WebSocketSet& websockets,
                                              std::shared_ptr<LinkStream> stream);

}  // namespace edgeway::proxy
