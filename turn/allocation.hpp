// One TURN allocation (RFC 8656 section 2.2): the relay socket, the client it belongs to, its
// permissions and channel bindings, its lifetime and its counters. It lives on the server's one
// thread; the peer side is a coroutine reading the relay socket until close().
#pragma once

#include "common/log.hpp"
#include "common/telemetry.hpp"
#include "turn/client_link.hpp"
#include "turn/integrity.hpp"
#include "turn/rate_limiter.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace edgeway::turn {

struct Config;
using SteadyTime = std::chrono::steady_clock::time_point;

class Allocation : public std::enable_shared_from_this<Allocation> {
  public:
    Allocation(boost::asio::ip::udp::socket relay, stun::Endpoint advertised, FiveTuple tuple,
               std::shared_ptr<ClientLink> client, std::string user, const stun::Md5& key,
               const Config& config, Logger& log);
    ~Allocation();
    Allocation(const Allocation&) = delete;
    Allocation& operator=(const Allocation&) = delete;

    void start();  // starts reading from peers
    void close();  // closes the relay socket (its port is free again)

    const FiveTuple& tuple() const { return tuple_; }
    const std::string& user() const { return user_; }
    const stun::Md5& key() const { return key_; }
    const stun::Endpoint& relayed() const { return advertised_; }
    std::uint16_t port() const { return port_; }

    SteadyTime expiry() const { return expiry_; }
    void set_expiry(SteadyTime expiry) { expiry_ = expiry; }
    // Forgets expired permissions and channels.
    void prune(SteadyTime now);

    void permit(const boost::asio::ip::address& peer, SteadyTime now);
    bool permitted(const boost::asio::ip::address& peer, SteadyTime now) const;

    enum class Bind { ok, channel_in_use, peer_in_use };
    Bind bind_channel(std::uint16_t channel, const stun::Endpoint& peer, SteadyTime now);

    // From the client: a Send indication's data, or ChannelData. Dropped without permission,
    // without binding, or beyond the rate.
    void send_to_peer(const stun::Endpoint& peer, stun::ByteView data, SteadyTime now);
    void send_channel(std::uint16_t channel, stun::ByteView data, SteadyTime now);

    // The last Allocate's transaction and response, to answer a retransmission the same.
    stun::TransactionId allocate_transaction{};
    stun::Bytes allocate_response;

    telemetry::RelayAllocation status() const;

  private:
    struct Channel {
        stun::Endpoint peer;
        SteadyTime expiry;
    };
    boost::asio::awaitable<void> read_peers();
    void relay_to_client(const stun::Endpoint& peer, stun::ByteView data);
    void over_rate(const char* direction, bool& warned);

    boost::asio::ip::udp::socket relay_;
    stun::Endpoint advertised_;
    std::uint16_t port_;
    FiveTuple tuple_;
    std::shared_ptr<ClientLink> client_;
    std::string user_;
    stun::Md5 key_;
    const Config& config_;
    Logger& log_;
    SteadyTime expiry_;
    telemetry::Clock::time_point created_ = telemetry::Clock::now();

    std::map<boost::asio::ip::address, SteadyTime> permissions_;
    std::map<std::uint16_t, Channel> channels_;
    std::map<stun::Endpoint, std::uint16_t> channel_of_peer_;
    std::map<stun::Endpoint, bool> peers_seen_;  // for the status page, bounded below

    RateLimiter to_peer_limit_, to_client_limit_;
    std::uint64_t bytes_in_ = 0, bytes_out_ = 0, packets_in_ = 0, packets_out_ = 0;
    std::uint64_t dropped_ = 0;
    bool to_peer_warned_ = false, to_client_warned_ = false;
    std::uint32_t indication_counter_ = 0;
    stun::Bytes out_;  // reused for each packet towards the client
};

}  // namespace edgeway::turn
