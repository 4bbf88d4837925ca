// What the relay does with each message a client sends, whatever the transport: Binding, the
// TURN requests (Allocate, Refresh, CreatePermission, ChannelBind), Send indications and
// ChannelData. Runs on the server's thread; answers through the client's link.
#pragma once

#include "common/log.hpp"
#include "turn/allocation_table.hpp"
#include "turn/authenticator.hpp"
#include "turn/client_link.hpp"
#include "turn/log_throttle.hpp"
#include "turn/nonce.hpp"
#include "turn/peer_policy.hpp"
#include "turn/stun_codec.hpp"

#include <boost/asio/io_context.hpp>

#include <optional>

namespace edgeway::turn {

class RequestHandler {
  public:
    RequestHandler(boost::asio::io_context& io, const Config& config, Logger& log,
                   Authenticator& auth, const NonceIssuer& nonces, AllocationTable& table,
                   const PeerPolicy& policy);

    // One UDP datagram, or one framed message from a TCP stream.
    void on_client(stun::ByteView bytes, const FiveTuple& tuple, ClientLink& link);
    // A TCP client went away: its allocation goes with it (RFC 8656 section 3.1).
    void on_client_closed(const FiveTuple& tuple);

  private:
    struct Request;
    void on_message(const stun::Message& message, const FiveTuple& tuple, ClientLink& link);
    void binding(Request& request);
    void allocate(Request& request);
    void refresh(Request& request);
    void create_permission(Request& request);
    void channel_bind(Request& request);
    void send_indication(const stun::Message& message, const FiveTuple& tuple);
    // Authenticates; answers and logs a refusal itself (false).
    bool authenticate(Request& request);
    // The allocation of the request's 5-tuple belonging to its user, or an answer 437/441.
    std::shared_ptr<Allocation> allocation_of(Request& request);
    std::optional<stun::Endpoint> peer_address(Request& request, const stun::Attribute& attr);
    stun::Endpoint advertised_endpoint(const FiveTuple& tuple) const;
    void fail(Request& request, unsigned code, const char* reason, const std::string& log);
    // Logs a refusal unless the same one (by the start of its text) came too often lately.
    void refusal(LogLevel level, const std::string& line);

    boost::asio::io_context& io_;
    const Config& config_;
    Logger& log_;
    Authenticator& auth_;
    const NonceIssuer& nonces_;
    AllocationTable& table_;
    const PeerPolicy& policy_;
    boost::asio::ip::address relay_address_;
    std::optional<boost::asio::ip::address> external_address_;
    LogThrottle throttle_{5, std::chrono::seconds(10)};
};

}  // namespace edgeway::turn
