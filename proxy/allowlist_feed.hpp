// The allow-list feed (x-edgeway-control: allowlist; see control_feed.hpp): the whole versioned
// rule set as one JSON line. A set from a cluster (cores sharing etcd) says so ("cluster":
// true). The edge applies a rule set atomically; until its first one it refuses every request.
#pragma once

#include "proxy/control_feed.hpp"
#include "proxy/shared_rules.hpp"

namespace edgeway::proxy {

constexpr std::string_view kAllowlistFeed = "allowlist";

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
