// Which peers an allocation may relay to. Loopback, link-local, unspecified, multicast and
// broadcast addresses and the server's own addresses are refused (so the relay cannot reach
// services on the edge itself or bounce into the DMZ's host-only networks) unless a configured
// allowed range covers the address.
#pragma once

#include <boost/asio/ip/address.hpp>

#include <optional>
#include <string>
#include <vector>

namespace edgeway::turn {

struct AddressRange {
    boost::asio::ip::address network;
    unsigned prefix = 0;
    bool contains(const boost::asio::ip::address& address) const;
};
// "10.0.0.0/8", "::1/128" or a single address; throws std::runtime_error naming the text.
AddressRange parse_range(const std::string& text);

class PeerPolicy {
  public:
    PeerPolicy(std::vector<AddressRange> allowed, std::vector<boost::asio::ip::address> own);
    // Why the peer is refused, in words for the log; nullopt when it is allowed.
    std::optional<std::string> refusal(const boost::asio::ip::address& peer) const;

  private:
    std::vector<AddressRange> allowed_;
    std::vector<boost::asio::ip::address> own_;
};

// The addresses of this host's interfaces (getifaddrs), for the "own addresses" rule.
std::vector<boost::asio::ip::address> local_interface_addresses();

}  // namespace edgeway::turn
