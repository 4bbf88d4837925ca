// The core's side of a stream: forward one request from the link to the web bridge.
#pragma once

#include "proxy/inside_resolver.hpp"
#include "proxy/link_stream.hpp"
#include "proxy/live_config.hpp"
#include "proxy/proxy.hpp"
#include "proxy/shared_rules.hpp"
#include "proxy/upstream_balancer.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include "tls/stream.hpp"

#include <chrono>
#include <memory>
#include <vector>

namespace edgeway::proxy {

struct UpstreamContext {
    UpstreamContext(const LiveConfig<CoreConfig>& c, Logger& l, const SharedRules& r,
                    const InsideResolver& res, telemetry::RequestLog& req, UpstreamBalancer& b)
        : config(c), log(l), rules(r), resolver(res), requests(req), balancer(b) {}

    // Each stream takes the snapshot current when it arrives (timeouts, verification).
    const LiveConfig<CoreConfig>& config;
    Logger& log;
    const SharedRules& rules;
    const InsideResolver& resolver;
    telemetry::RequestLog& requests;
    // Which target of a join host each connection goes to, and their health (every worker).
    UpstreamBalancer& balancer;

    // The web bridge client context, swapped whole when its CA file is reloaded: a new
    // connection takes the current one. Null while the CA cannot be used (tls_error says why).
    std::shared_ptr<boost::asio::ssl::context> tls() const { return tls_.load(); }
    std::string tls_error() const {
        const auto error = tls_error_.load();
        return error ? *error : "no web bridge TLS context";
    }
    void set_tls(std::shared_ptr<boost::asio::ssl::context> context) {
        tls_.store(std::move(context));
        tls_error_.store(nullptr);
    }
    void set_tls_error(std::string error) {
        tls_error_.store(std::make_shared<const std::string>(std::move(error)));
    }

  private:
    std::atomic<std::shared_ptr<boost::asio::ssl::context>> tls_;
    std::atomic<std::shared_ptr<const std::string>> tls_error_;
};

using UpstreamStream = tls::Stream;

// Idle keep-alive connections to the web bridges, one pool per worker thread (no locks), keyed
// per target. Saves a TCP and TLS handshake per request; only requests without a body use a
// pooled connection, so a connection the web bridge closed meanwhile can be retried on a new one
// without loss.
class UpstreamPool {
  public:
    // The most recently used connection to key ("host:port@target") still open, or null.
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

// Connects to a web bridge target the balancer picks, sends the request (streaming its body),
// and streams the response (or, for a WebSocket, the bytes both ways, on that one target) back
// on the link stream. A try that fails before anything was sent (connect, TLS), or, for a
// request without a body and with an idempotent method, before any response byte, goes to the
// next target, once. Answers 502/504 itself when no target can be reached or the
// one reached does not answer.
// A WebSocket registers in `websockets` (the worker's), where a drain finds it to close it.
boost::asio::awaitable<void> forward_upstream(const UpstreamContext& context, UpstreamPool& pool,
                                              WebSocketSet& websockets,
                                              std::shared_ptr<LinkStream> stream);

}  // namespace edgeway::proxy
