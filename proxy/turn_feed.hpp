// The TURN credential feed (x-edgeway-control: turn; see control_feed.hpp): the core's whole
// credential set (users with their realm and long-term key, never a password; the REST API
// secret) as one JSON line, for the edges whose relay takes pushed credentials. The edge applies
// each set atomically; the relay refuses every user until the first one and keeps the last one
// when every link is down. Neither side logs a key or the secret.
#pragma once

#include "proxy/control_feed.hpp"
#include "turn/turn.hpp"

namespace edgeway::proxy {

constexpr std::string_view kTurnFeed = "turn";

// Core: true when a stream that arrived on a link is this feed.
bool is_turn_feed(const LinkStream& stream);

// Core: serves the feed until the stream or the link ends. `changed` is notified (on the
// stream's executor) whenever `credentials` published a new set.
boost::asio::awaitable<void> serve_turn_feed(std::shared_ptr<LinkStream> stream,
                                             const turn::CredentialPublisher& credentials,
                                             Broadcast& changed);

// Edge: the decision on one line of the feed from `peer`: stored in `credentials` when valid
// and not older (a cluster's set); false (logged) when it is not a valid set.
bool apply_turn_credentials(std::string_view line, turn::PushedCredentials& credentials,
                            Logger& log, const std::string& peer);

// Edge: opens the feed on a link that is up and applies each set it brings.
boost::asio::awaitable<void> receive_turn_feed(std::shared_ptr<LinkSession> link,
                                               turn::PushedCredentials& credentials, Logger& log);

}  // namespace edgeway::proxy
