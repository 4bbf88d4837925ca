// STUN (RFC 8489) and TURN (RFC 8656) attribute types, and decoders for the values this server
// reads. Every decoder checks the value's length and returns nullopt on anything malformed.
#pragma once

#include <boost/asio/ip/udp.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace edgeway::turn::stun {

using ByteView = std::span<const std::uint8_t>;
using Bytes = std::vector<std::uint8_t>;
using Endpoint = boost::asio::ip::udp::endpoint;
using TransactionId = std::array<std::uint8_t, 12>;

constexpr std::uint32_t kMagicCookie = 0x2112A442;

namespace attr {
// Comprehension-required (0x0000-0x7FFF).
constexpr std::uint16_t mapped_address = 0x0001;
constexpr std::uint16_t username = 0x0006;
constexpr std::uint16_t message_integrity = 0x0008;
constexpr std::uint16_t error_code = 0x0009;
constexpr std::uint16_t unknown_attributes = 0x000A;
constexpr std::uint16_t channel_number = 0x000C;
constexpr std::uint16_t lifetime = 0x000D;
constexpr std::uint16_t xor_peer_address = 0x0012;
constexpr std::uint16_t data = 0x0013;
constexpr std::uint16_t realm = 0x0014;
constexpr std::uint16_t nonce = 0x0015;
constexpr std::uint16_t xor_relayed_address = 0x0016;
constexpr std::uint16_t requested_address_family = 0x0017;
constexpr std::uint16_t even_port = 0x0018;
constexpr std::uint16_t requested_transport = 0x0019;
constexpr std::uint16_t dont_fragment = 0x001A;
constexpr std::uint16_t message_integrity_sha256 = 0x001C;
constexpr std::uint16_t xor_mapped_address = 0x0020;
constexpr std::uint16_t reservation_token = 0x0022;
// Comprehension-optional (0x8000-0xFFFF).
constexpr std::uint16_t software = 0x8022;
constexpr std::uint16_t fingerprint = 0x8028;
}  // namespace attr

// Whether this server understands a comprehension-required attribute type. Requests carrying
// any other type in 0x0000-0x7FFF are answered 420 with UNKNOWN-ATTRIBUTES listing them.
bool is_known(std::uint16_t type);
inline bool comprehension_required(std::uint16_t type) {
    return type < 0x8000;
}

// Length limits from RFC 8489 section 14 (in bytes of UTF-8).
constexpr std::size_t kMaxUsername = 513;
constexpr std::size_t kMaxRealm = 763;
constexpr std::size_t kMaxNonce = 763;
constexpr std::size_t kMaxReason = 763;

// XOR-MAPPED-ADDRESS, XOR-PEER-ADDRESS, XOR-RELAYED-ADDRESS: family, port and address xor'ed
// with the magic cookie (and, for IPv6, the transaction id).
std::optional<Endpoint> decode_xor_address(ByteView value, const TransactionId& id);
void encode_xor_address(Bytes& out, const Endpoint& endpoint, const TransactionId& id);
// MAPPED-ADDRESS (plain).
std::optional<Endpoint> decode_address(ByteView value);

std::optional<std::uint32_t> decode_u32(ByteView value);  // LIFETIME
// REQUESTED-TRANSPORT: the protocol number (17 = UDP) from the first byte of four.
std::optional<std::uint8_t> decode_requested_transport(ByteView value);
// CHANNEL-NUMBER: the number from the first two bytes of four.
std::optional<std::uint16_t> decode_channel_number(ByteView value);
// REQUESTED-ADDRESS-FAMILY: 0x01 IPv4, 0x02 IPv6.
std::optional<std::uint8_t> decode_address_family(ByteView value);

struct ErrorCode {
    unsigned code = 0;
    std::string_view reason;
};
std::optional<ErrorCode> decode_error_code(ByteView value);
void encode_error_code(Bytes& out, unsigned code, std::string_view reason);

// A text attribute (USERNAME, REALM, NONCE, SOFTWARE) no longer than max bytes.
std::optional<std::string_view> decode_text(ByteView value, std::size_t max);

}  // namespace edgeway::turn::stun
