#include "turn/allocation.hpp"

#include "turn/stun_codec.hpp"
#include "turn/turn.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace edgeway::turn {
namespace {

namespace asio = boost::asio;
constexpr std::size_t kMaxDatagram = 65535;
constexpr int kBurst = 64;  // datagrams taken per wake-up before yielding
constexpr std::size_t kMaxPeersShown = 32;
constexpr int kRelayBuffer = 512 * 1024;

std::string endpoint_text(const stun::Endpoint& e) {
    return e.address().is_v6() ? "[" + e.address().to_string() + "]:" + std::to_string(e.port())
                               : e.address().to_string() + ":" + std::to_string(e.port());
}

}  // namespace

Allocation::Allocation(asio::ip::udp::socket relay, stun::Endpoint advertised, FiveTuple tuple,
                       std::shared_ptr<ClientLink> client, std::string user, const stun::Md5& key,
                       const Config& config, Logger& log)
    : relay_(std::move(relay)),
      advertised_(advertised),
      port_(relay_.local_endpoint().port()),
      tuple_(std::move(tuple)),
      client_(std::move(client)),
      user_(std::move(user)),
      key_(key),
      config_(config),
      log_(log),
      to_peer_limit_(config.max_packets_per_second, config.max_bytes_per_second),
      to_client_limit_(config.max_packets_per_second, config.max_bytes_per_second) {
    relay_.non_blocking(true);
    // Room for a burst from the peers while the thread serves other sockets (capped by
    // net.core.rmem_max).
    boost::system::error_code ignored;
    relay_.set_option(asio::socket_base::receive_buffer_size(kRelayBuffer), ignored);
    out_.reserve(kMaxDatagram + 64);
}

Allocation::~Allocation() {
    close();
}

void Allocation::start() {
    asio::co_spawn(relay_.get_executor(), read_peers(), asio::detached);
}

void Allocation::close() {
    boost::system::error_code ignored;
    relay_.close(ignored);
}

asio::awaitable<void> Allocation::read_peers() {
    // Keeps the allocation alive while a read is pending; close() ends the loop.
    auto self = shared_from_this();
    std::vector<std::uint8_t> buffer(kMaxDatagram);
    stun::Endpoint peer;
    for (;;) {
        auto [ec, size] = co_await relay_.async_receive_from(asio::buffer(buffer), peer,
                                                             asio::as_tuple(asio::use_awaitable));
        if (ec == asio::error::operation_aborted || !relay_.is_open()) co_return;
        if (ec) continue;  // e.g. ICMP port unreachable reported on the socket
        // Drain what is already queued without another wait (one wake-up, up to 64 datagrams), then
        // yield to the other sockets.
        for (int burst = 1;; ++burst) {
            relay_to_client(peer, stun::ByteView(buffer.data(), size));
            if (burst == kBurst) break;  // the next one waits for the next wake-up
            boost::system::error_code again;
            size = relay_.receive_from(asio::buffer(buffer), peer, 0, again);
            if (again) break;
        }
    }
}

void Allocation::relay_to_client(const stun::Endpoint& peer, stun::ByteView data) {
    const auto now = std::chrono::steady_clock::now();
    if (!permitted(peer.address(), now)) {
        ++dropped_;  // RFC 8656: data from a peer without permission is dropped silently
        return;
    }
    if (!to_client_limit_.allow(data.size(), now)) {
        over_rate("from the peers", to_client_warned_);
        return;
    }
    out_.clear();
    if (const auto it = channel_of_peer_.find(peer); it != channel_of_peer_.end()) {
        stun::write_channel_data(out_, it->second, data, client_->stream());
        client_->send(out_);
    } else {
        // A Data indication: its transaction id only has to be unique enough.
        stun::TransactionId id{};
        const auto counter = ++indication_counter_;
        for (int i = 0; i < 4; ++i) id[8 + i] = static_cast<std::uint8_t>(counter >> (8 * i));
        for (int i = 0; i < 2; ++i) id[i] = static_cast<std::uint8_t>(port_ >> (8 * i));
        stun::MessageBuilder message(stun::method::data, stun::Class::indication, id);
        message.add_xor_address(stun::attr::xor_peer_address, peer);
        message.add(stun::attr::data, data);
        client_->send(message.bytes());
    }
    ++packets_out_;
    bytes_out_ += data.size();
}

void Allocation::over_rate(const char* direction, bool& warned) {
    ++dropped_;
    if (warned) return;  // once per allocation and direction: the log is no flood
    warned = true;
    log_.warn(
        "allocation of user '{}' from {}: traffic {} is over max_packets_per_second ({}) "
        "or max_bytes_per_second ({}); the excess is dropped",
        user_, tuple_.describe(), direction, config_.max_packets_per_second,
        config_.max_bytes_per_second);
}

void Allocation::prune(SteadyTime now) {
    std::erase_if(permissions_, [&](const auto& p) { return p.second <= now; });
    for (auto it = channels_.begin(); it != channels_.end();) {
        if (it->second.expiry <= now) {
            channel_of_peer_.erase(it->second.peer);
            it = channels_.erase(it);
        } else {
            ++it;
        }
    }
}

void Allocation::permit(const asio::ip::address& peer, SteadyTime now) {
    permissions_[peer] = now + config_.permission_lifetime;
}

bool Allocation::permitted(const asio::ip::address& peer, SteadyTime now) const {
    const auto it = permissions_.find(peer);
    return it != permissions_.end() && it->second > now;
}

Allocation::Bind Allocation::bind_channel(std::uint16_t channel, const stun::Endpoint& peer,
                                          SteadyTime now) {
    const auto by_channel = channels_.find(channel);
    if (by_channel != channels_.end() && by_channel->second.peer != peer)
        return Bind::channel_in_use;
    const auto by_peer = channel_of_peer_.find(peer);
    if (by_peer != channel_of_peer_.end() && by_peer->second != channel) return Bind::peer_in_use;
    channels_[channel] = Channel{peer, now + config_.channel_lifetime};
    channel_of_peer_[peer] = channel;
    permit(peer.address(), now);  // RFC 8656 11.2: a binding installs or refreshes a permission
    if (peers_seen_.size() < kMaxPeersShown) peers_seen_[peer] = true;
    return Bind::ok;
}

void Allocation::send_to_peer(const stun::Endpoint& peer, stun::ByteView data, SteadyTime now) {
    if (!permitted(peer.address(), now)) {
        ++dropped_;
        return;
    }
    if (!to_peer_limit_.allow(data.size(), now)) {
        over_rate("from the client", to_peer_warned_);
        return;
    }
    boost::system::error_code ignored;
    relay_.send_to(asio::buffer(data.data(), data.size()), peer, 0, ignored);
    if (peers_seen_.size() < kMaxPeersShown) peers_seen_.try_emplace(peer, true);
    ++packets_in_;
    bytes_in_ += data.size();
}

void Allocation::send_channel(std::uint16_t channel, stun::ByteView data, SteadyTime now) {
    const auto it = channels_.find(channel);
    if (it == channels_.end() || it->second.expiry <= now) {
        ++dropped_;
        return;
    }
    send_to_peer(it->second.peer, data, now);
}

telemetry::RelayAllocation Allocation::status() const {
    telemetry::RelayAllocation status;
    status.user = user_;
    status.client = tuple_.describe();
    status.relayed = endpoint_text(advertised_);
    for (const auto& [peer, seen] : peers_seen_) status.peers.push_back(endpoint_text(peer));
    status.bytes_in = bytes_in_;
    status.bytes_out = bytes_out_;
    status.packets_in = packets_in_;
    status.packets_out = packets_out_;
    status.created = created_;
    return status;
}

}  // namespace edgeway::turn
