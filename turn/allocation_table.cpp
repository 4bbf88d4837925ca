#include "turn/allocation_table.hpp"

#include "turn/turn.hpp"

namespace edgeway::turn {

AllocationTable::AllocationTable(const Config& config)
    : config_(config), next_port_(config.relay_port_min) {}

unsigned AllocationTable::admit(const std::string& user) const {
    if (by_tuple_.size() >= config_.max_allocations) return 508;
    if (count(user) >= config_.max_allocations_per_user) return 486;
    return 0;
}

std::size_t AllocationTable::count(const std::string& user) const {
    const auto it = per_user_.find(user);
    return it == per_user_.end() ? 0 : it->second;
}

std::optional<boost::asio::ip::udp::socket> AllocationTable::open_relay_socket(
    boost::asio::io_context& io, const boost::asio::ip::address& address, bool even) {
    const std::uint32_t first = config_.relay_port_min, last = config_.relay_port_max;
    const std::uint32_t range = last - first + 1;
    for (std::uint32_t tried = 0; tried < range; ++tried) {
        const std::uint32_t port = next_port_;
        next_port_ = next_port_ >= last ? first : next_port_ + 1;
        if (even && port % 2) continue;
        boost::asio::ip::udp::socket socket(io);
        boost::system::error_code ec;
        socket.open(address.is_v4() ? boost::asio::ip::udp::v4() : boost::asio::ip::udp::v6(), ec);
        if (ec) return std::nullopt;
        // Taken by another allocation or another program: try the next one.
        socket.bind(boost::asio::ip::udp::endpoint(address, static_cast<std::uint16_t>(port)), ec);
        if (!ec) return socket;
    }
    return std::nullopt;
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
    return expired;
}

void AllocationTable::clear() {
    for (auto& [tuple, allocation] : by_tuple_) allocation->close();
    by_tuple_.clear();
    per_user_.clear();
}

std::vector<telemetry::RelayAllocation> AllocationTable::status() const {
    std::vector<telemetry::RelayAllocation> all;
    all.reserve(by_tuple_.size());
    for (const auto& [tuple, allocation] : by_tuple_) all.push_back(allocation->status());
    return all;
}

}  // namespace edgeway::turn
