// The allocations by 5-tuple, the quotas (per user and in total) and the relay ports: a relay
// socket is bound to the next port of the configured range that is free, so a port freed by an
// expired allocation is used again once the range has wrapped around.
#pragma once

#include "turn/allocation.hpp"

#include <boost/asio/ip/udp.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace edgeway::turn {

class AllocationTable {
  public:
    explicit AllocationTable(const Config& config);

    std::shared_ptr<Allocation> find(const FiveTuple& tuple) const {
        const auto it = by_tuple_.find(tuple);
        return it == by_tuple_.end() ? nullptr : it->second;
    }
    // 0 when a new allocation for user is within the quotas, else 486 (user) or 508 (total).
    unsigned admit(const std::string& user) const;
    // A socket bound on address to a free port of the range; nullopt when the whole range is
    // taken. EVEN-PORT asks for an even port and, with its R bit, for the next port to be
    // reserved too (RFC 8656 7.2: RTP on the even port, RTCP on the next): then `next` holds it.
    enum class Parity { any, even, even_and_next };
    std::optional<boost::asio::ip::udp::socket> open_relay_socket(
        boost::asio::io_context& io, const boost::asio::ip::address& address, Parity parity,
        std::optional<boost::asio::ip::udp::socket>* next = nullptr);
    // Holds a reserved socket for a later Allocate with RESERVATION-TOKEN (30 s).
    std::uint64_t reserve(boost::asio::ip::udp::socket socket, SteadyTime now);
    std::optional<boost::asio::ip::udp::socket> take_reservation(std::uint64_t token);

    void insert(std::shared_ptr<Allocation> allocation);
    void erase(const FiveTuple& tuple);
    // Removes (and closes) allocations whose lifetime is over; prunes the others.
    std::vector<std::shared_ptr<Allocation>> expire(SteadyTime now);
    void clear();

    std::size_t size() const { return by_tuple_.size(); }
    std::size_t count(const std::string& user) const;
    std::vector<telemetry::RelayAllocation> status() const;

  private:
    const Config& config_;
    std::map<FiveTuple, std::shared_ptr<Allocation>> by_tuple_;
    std::map<std::string, std::size_t> per_user_;
    std::uint32_t next_port_;
    struct Reservation {
        boost::asio::ip::udp::socket socket;
        SteadyTime expiry;
    };
    std::map<std::uint64_t, Reservation> reservations_;
    std::uint64_t next_token_;
};

}  // namespace edgeway::turn
