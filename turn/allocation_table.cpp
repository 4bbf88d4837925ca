#include "turn/allocation_table.hpp"

#include "turn/turn.hpp"

#include <openssl/rand.h>

namespace edgeway::turn {

AllocationTable::AllocationTable(const Config& config)
    : config_(config), next_port_(config.relay_port_min) {
    // Tokens are unguessable so one client cannot take another's reserved port.
    RAND_bytes(reinterpret_cast<unsigned char*>(&next_token_), sizeof next_token_);
}

unsigned AllocationTable::admit(const std::string& user) const {
    if (by_tuple_.size() >= config_.max_allocations) return 508;
    if (count(user) >= config_.max_allocations_per_user) return 486;
    return 0;
}

std::size_t AllocationTable::count(const std::string& user) const {
    const auto it = per_user_.find(user);
    return it == per_user_.end() ? 0 : it->second;
}

namespace {
std::optional<boost::asio::ip::udp::socket> bind_port(boost::asio::io_context& io,
                                                      const boost::asio::ip::address& address,
                                                      std::uint32_t port) {
    boost::asio::ip::udp::socket socket(io);
    boost::system::error_code ec;
    socket.open(address.is_v4() ? boost::asio::ip::udp::v4() : boost::asio::ip::udp::v6(), ec);
    if (!ec)
        socket.bind(boost::asio::ip::udp::endpoint(address, static_cast<std::uint16_t>(port)), ec);
    if (ec) return std::nullopt;  // taken by another allocation or another program
    return socket;
}
}  // namespace

std::optional<boost::asio::ip::udp::socket> AllocationTable::open_relay_socket(
    boost::asio::io_context& io, const boost::asio::ip::address& address, Parity parity,
    std::optional<boost::asio::ip::udp::socket>* next) {
    const std::uint32_t first = config_.relay_port_min, last = config_.relay_port_max;
    const std::uint32_t range = last - first + 1;
    for (std::uint32_t tried = 0; tried < range; ++tried) {
        const std::uint32_t port = next_port_;
        next_port_ = next_port_ >= last ? first : next_port_ + 1;
        if (parity != Parity::any && port % 2) continue;
        if (parity == Parity::even_and_next && port + 1 > last) continue;
        auto socket = bind_port(io, address, port);
        if (!socket) continue;
        if (parity == Parity::even_and_next) {
            auto second = bind_port(io, address, port + 1);
            if (!second) continue;
            *next = std::move(second);
        }
        return socket;
    }
    return std::nullopt;
}

std::uint64_t AllocationTable::reserve(boost::asio::ip::udp::socket socket, SteadyTime now) {
    const std::uint64_t token = ++next_token_;
    reservations_.emplace(token, Reservation{std::move(socket), now + std::chrono::seconds(30)});
    return token;
}

std::optional<boost::asio::ip::udp::socket> AllocationTable::take_reservation(std::uint64_t token) {
    const auto it = reservations_.find(token);
    if (it == reservations_.end()) return std::nullopt;
    auto socket = std::move(it->second.socket);
    reservations_.erase(it);
    return socket;
}

void AllocationTable::insert(std::shared_ptr<Allocation> allocation) {
    ++per_user_[allocation->user()];
    const auto tuple = allocation->tuple();
    by_tuple_[tuple] = std::move(allocation);
}

void AllocationTable::erase(const FiveTuple& tuple) {
    const auto it = by_tuple_.find(tuple);
    if (it == by_tuple_.end()) return;
    it->second->close();
    if (auto user = per_user_.find(it->second->user());
        user != per_user_.end() && --user->second == 0)
        per_user_.erase(user);
    by_tuple_.erase(it);
}

std::vector<std::shared_ptr<Allocation>> AllocationTable::expire(SteadyTime now) {
    std::vector<std::shared_ptr<Allocation>> expired;
    for (const auto& [tuple, allocation] : by_tuple_) {
        if (allocation->expiry() <= now)
            expired.push_back(allocation);
        else
            allocation->prune(now);
    }
    for (const auto& allocation : expired) erase(allocation->tuple());
    std::erase_if(reservations_, [&](const auto& r) { return r.second.expiry <= now; });
    return expired;
}

void AllocationTable::clear() {
    for (auto& [tuple, allocation] : by_tuple_) allocation->close();
    by_tuple_.clear();
    per_user_.clear();
    reservations_.clear();
}

std::vector<telemetry::RelayAllocation> AllocationTable::status() const {
    std::vector<telemetry::RelayAllocation> all;
    all.reserve(by_tuple_.size());
    for (const auto& [tuple, allocation] : by_tuple_) all.push_back(allocation->status());
    return all;
}

}  // namespace edgeway::turn
