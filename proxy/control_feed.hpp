// What the control feeds share (the allow list, the TURN credentials): a stream per traversal
// link that the edge opens as soon as the link is up, marked with the x-edgeway-control header
// (which the edge strips from every browser request, so no browser can open or imitate one), on
// which the core writes its whole versioned set as one JSON line at once and again after every
// change. A cluster's sets (cores sharing etcd) are numbered alike on every core: the edge never
// goes back to a lower number, whichever core's link brings it.
#pragma once

#include "proxy/link_session.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace edgeway::proxy {

constexpr std::string_view kControlHeader = "x-edgeway-control";

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

// Core: the feed a stream that arrived on a link asks for ("allowlist", "turn"); empty for a
// browser request.
std::string_view control_feed_of(const LinkStream& stream);

// Core: serves a feed until the stream or the link ends: `current` is the set's line (null:
// none yet), written at once and again whenever it is another one; `changed` is notified (on
// the stream's executor) when it may be.
boost::asio::awaitable<void> serve_control_feed(
    std::shared_ptr<LinkStream> stream, std::function<std::shared_ptr<const std::string>()> current,
    Broadcast& changed);

// A set's number, as an edge compares it with the one it holds.
struct SetVersion {
    std::uint64_t version = 0;
    bool cluster = false;
};
enum class SetDecision { apply, same, older };
// A set whose number equals the one held is the same set. A cluster's set with a lower number
// comes from a core that has not seen the latest change yet and must not roll the edge back;
// one core's own numbers (SQLite) are applied whatever they are: its database may have been
// replaced.
SetDecision decide(const SetVersion* held, const SetVersion& next);

// Edge: what one feed is called and asked for by.
struct ControlFeed {
    std::string_view name;  // "allowlist", the header's value
    std::string_view path;  // ":path" of the request, for the core's logs
    std::string_view what;  // "allow-list feed", for the edge's log
};

// Edge: opens the feed on a link that is up and hands each line to `apply`, which returns false
// (after logging why) when the line is not a valid set: the stream is then reset. When the
// feed ends while the link is still up, the link is closed, so that the core dials again and
// a new feed starts (a link without its feed would go on with sets that no longer change).
boost::asio::awaitable<void> receive_control_feed(std::shared_ptr<LinkSession> link,
                                                  ControlFeed feed,
                                                  std::function<bool(std::string_view)> apply,
                                                  Logger& log);

}  // namespace edgeway::proxy
