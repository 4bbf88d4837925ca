// The allow-list feed: one stream per traversal link, opened by the edge as soon as the link is
// up, on which the core writes the whole versioned rule set (one JSON line) at once and again
// after every change. A set from a cluster (cores sharing etcd) says so ("cluster": true): its
// version is the cluster's, and the edge never goes back to a lower one, whichever of the
// cores' links brings it. The edge applies a rule set atomically; until its first one it refuses
// every request. The stream is marked with the x-edgeway-control header, which the edge strips
// from every browser request, so no browser can open or imitate it.
#pragma once

#include "proxy/link_session.hpp"
#include "proxy/shared_rules.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

namespace edgeway::proxy {

constexpr std::string_view kControlHeader = "x-edgeway-control";
constexpr std::string_view kAllowlistFeed = "allowlist";

// Wakes every coroutine waiting on one executor. Waiters re-check their condition after each
// wake-up, so a wake-up needs no memory of its own.
class Broadcast {
  public:
    explicit Broadcast(const boost::asio::any_io_executor& executor)
        : timer_(executor, boost::asio::steady_timer::time_point::max()) {}
    void notify() { timer_.cancel(); }
    boost::asio::awaitable<void> wait();

  private:
    boost::asio::steady_timer timer_;
};

// Core: true when a stream that arrived on a link is the feed rather than a browser request.
bool is_allowlist_feed(const LinkStream& stream);

// Core: serves the feed until the stream or the link ends. `changed` is notified (on the
// stream's executor) whenever `rules` holds a new version.
boost::asio::awaitable<void> serve_allowlist_feed(std::shared_ptr<LinkStream> stream,
                                                  const SharedRules& rules, Broadcast& changed);

// Edge: opens the feed on a link that is up and applies each rule set it brings to `rules`.
boost::asio::awaitable<void> receive_allowlist_feed(std::shared_ptr<LinkSession> link,
                                                    SharedRules& rules, Logger& log);

}  // namespace edgeway::proxy
