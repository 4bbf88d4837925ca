// What one edge worker thread owns: its io_context and the links that live on it. A browser
// connection accepted on a worker is served by that worker's links only, so no lock is needed.
#pragma once

#include "proxy/drain.hpp"
#include "proxy/link_session.hpp"
#include "proxy/live_config.hpp"
#include "proxy/proxy.hpp"
#include "proxy/shared_rules.hpp"
#include "proxy/websocket_relay.hpp"

#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <atomic>
#include <memory>
#include <set>
#include <vector>

namespace edgeway::proxy {

struct EdgeWorker {
    explicit EdgeWorker(InFlight& in_flight) : websockets(in_flight) {}
    // Before io: the coroutines io destroys at the end unregister their WebSockets here.
    WebSocketSet websockets;
    boost::asio::io_context io{1};
    std::vector<std::shared_ptr<LinkSession>> links;  // used on io's thread only
    std::atomic<unsigned> link_count{0};              // read by the link acceptor
    // Links that take new streams (up, no GOAWAY); read by the other workers' acceptors.
    std::atomic<unsigned> ready_links{0};
    // Keep-alive connections end after their current request: the edge is draining, or this
    // worker's links all went (or got a GOAWAY) while another worker has one, which new
    // connections then go to.
    std::atomic<bool> closes_connections{false};
    // Keep-alive connections waiting for their next request; emitting one ends its wait.
    std::set<boost::asio::cancellation_signal*> idle;  // used on io's thread only

    // The ready link with the fewest open streams, or null when none is up. A link that got a
    // GOAWAY is not ready: it takes no new stream. Links whose core has sent its allow list
    // come first: a core that has none yet would refuse the request.
    std::shared_ptr<LinkSession> pick_link() const {
        std::shared_ptr<LinkSession> best;
        for (const auto& link : links) {
            if (!link->ready()) continue;
            const bool better = !best || (link->rules_delivered() != best->rules_delivered()
                                              ? link->rules_delivered()
                                              : link->open_streams() < best->open_streams());
            if (better) best = link;
        }
        return best;
    }

    unsigned count_ready_links() const {
        unsigned ready = 0;
        for (const auto& link : links) ready += link->ready();
        return ready;
    }

    // On io's thread: the idle keep-alive connections close now.
    void close_idle() {
        for (auto* wait : idle) wait->emit(boost::asio::cancellation_type::all);
    }
};

struct EdgeContext {
    // Each connection takes the snapshot current when it is accepted (limits, timeouts).
    const LiveConfig<EdgeConfig>& config;
    Logger& log;
    // Swapped whole when the certificate is reloaded: a new connection takes the current one,
    // an open connection keeps the one it started with (OpenSSL counts its references).
    std::atomic<std::shared_ptr<boost::asio::ssl::context>> https_tls;
    std::uint16_t https_port;  // the port bound; redirects name public_https_port when set
    const SharedRules& rules;
    telemetry::RequestLog& requests;
    InFlight& in_flight;  // the requests and WebSockets being served, for a drain
};

// One browser connection: TLS, HTTP/1.1 keep-alive, each request forwarded over a link.
boost::asio::awaitable<void> serve_downstream(const EdgeContext& context, EdgeWorker& worker,
                                              boost::asio::ip::tcp::socket socket);

// One plain-HTTP connection on port 80: every request gets a redirect to https.
boost::asio::awaitable<void> serve_redirect(const EdgeContext& context,
                                            boost::asio::ip::tcp::socket socket);

}  // namespace edgeway::proxy
