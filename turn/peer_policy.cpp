#include "turn/peer_policy.hpp"

#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <stdexcept>

namespace edgeway::turn {
namespace {

template <typename Bytes>
bool prefix_equal(const Bytes& a, const Bytes& b, unsigned prefix) {
    for (std::size_t i = 0; i < a.size() && prefix > 0; ++i) {
        const unsigned bits = std::min(prefix, 8u);
        const std::uint8_t mask = static_cast<std::uint8_t>(0xFF << (8 - bits));
        if ((a[i] & mask) != (b[i] & mask)) return false;
        prefix -= bits;
    }
    return true;
}

boost::asio::ip::address unmapped(const boost::asio::ip::address& address) {
    if (address.is_v6() && address.to_v6().is_v4_mapped())
        return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6());
    return address;
}

}  // namespace

bool AddressRange::contains(const boost::asio::ip::address& raw) const {
    const auto address = unmapped(raw);
    if (address.is_v4() != network.is_v4()) return false;
    if (address.is_v4())
        return prefix_equal(address.to_v4().to_bytes(), network.to_v4().to_bytes(), prefix);
    return prefix_equal(address.to_v6().to_bytes(), network.to_v6().to_bytes(), prefix);
}

AddressRange parse_range(const std::string& text) {
    const auto slash = text.find('/');
    boost::system::error_code ec;
    const auto address = boost::asio::ip::make_address(text.substr(0, slash), ec);
    if (ec)
        throw std::runtime_error("allowed_peer_ranges: '" + text + "' is not an address/prefix");
    const unsigned max = address.is_v4() ? 32 : 128;
    unsigned prefix = max;
    if (slash != std::string::npos) {
        const std::string digits = text.substr(slash + 1);
        if (digits.empty() || digits.size() > 3 ||
            !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
            throw std::runtime_error("allowed_peer_ranges: '" + text + "' has a bad prefix length");
        prefix = static_cast<unsigned>(std::stoul(digits));
        if (prefix > max)
            throw std::runtime_error("allowed_peer_ranges: '" + text + "' has a prefix over " +
                                     std::to_string(max));
    }
    return AddressRange{unmapped(address), prefix};
}

PeerPolicy::PeerPolicy(std::vector<AddressRange> allowed, std::vector<boost::asio::ip::address> own)
    : allowed_(std::move(allowed)), own_(std::move(own)) {}

std::optional<std::string> PeerPolicy::refusal(const boost::asio::ip::address& raw) const {
    const auto peer = unmapped(raw);
    for (const auto& range : allowed_)
        if (range.contains(peer)) return std::nullopt;
    if (peer.is_unspecified()) return "the unspecified address";
    if (peer.is_loopback()) return "a loopback address";
    if (peer.is_multicast()) return "a multicast address";
    if (peer.is_v4()) {
        const auto bytes = peer.to_v4().to_bytes();
        if (bytes[0] == 169 && bytes[1] == 254) return "a link-local address";
        if (peer.to_v4() == boost::asio::ip::address_v4::broadcast())
            return "the broadcast address";
        if (bytes[0] == 0) return "an address in 0.0.0.0/8";
    } else if (peer.to_v6().is_link_local()) {
        return "a link-local address";
    }
    if (std::find(own_.begin(), own_.end(), peer) != own_.end()) return "this server's own address";
    return std::nullopt;
}

std::vector<boost::asio::ip::address> local_interface_addresses() {
    std::vector<boost::asio::ip::address> addresses;
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return addresses;
    for (auto* i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr) continue;
        if (i->ifa_addr->sa_family == AF_INET) {
            const auto* in = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
            addresses.push_back(boost::asio::ip::address_v4(ntohl(in->sin_addr.s_addr)));
        } else if (i->ifa_addr->sa_family == AF_INET6) {
            const auto* in6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
            boost::asio::ip::address_v6::bytes_type bytes;
            std::copy(in6->sin6_addr.s6_addr, in6->sin6_addr.s6_addr + 16, bytes.begin());
            addresses.push_back(boost::asio::ip::address_v6(bytes));
        }
    }
    ::freeifaddrs(list);
    return addresses;
}

}  // namespace edgeway::turn
