// STUN message framing (RFC 8489 section 5) and TURN ChannelData framing (RFC 8656 section 12).
// parse() reads a message in place (no copy: attribute values are views into the caller's
// buffer) and checks every length against the bytes actually there. MessageBuilder writes one.
#pragma once

#include "turn/stun_attributes.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace edgeway::turn::stun {

enum class Class : std::uint8_t { request = 0, indication = 1, success = 2, error = 3 };

namespace method {
constexpr std::uint16_t binding = 0x001;
constexpr std::uint16_t allocate = 0x003;
constexpr std::uint16_t refresh = 0x004;
constexpr std::uint16_t send = 0x006;
constexpr std::uint16_t data = 0x007;
constexpr std::uint16_t create_permission = 0x008;
constexpr std::uint16_t channel_bind = 0x009;
}  // namespace method

constexpr std::size_t kHeaderSize = 20;
constexpr std::size_t kMaxAttributes = 64;  // more is an attack, not a client

std::uint16_t message_type(std::uint16_t method, Class cls);

struct Attribute {
    std::uint16_t type = 0;
    ByteView value;
};

struct Message {
    std::uint16_t method = 0;
    Class cls = Class::request;
    TransactionId transaction_id{};
    ByteView raw;  // the whole message
    std::vector<Attribute> attributes;
    // Where MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 and FINGERPRINT start in raw (0: absent).
    std::size_t integrity_offset = 0, integrity_sha256_offset = 0, fingerprint_offset = 0;

    const Attribute* find(std::uint16_t type) const;
    // Comprehension-required types this server does not know, in order of appearance.
    std::vector<std::uint16_t> unknown_required() const;
};

enum class ParseError {
    ok,
    not_stun,             // too short, top bits set, wrong cookie, length not a multiple of 4
    length_mismatch,      // the header's length is not what arrived
    bad_attribute,        // an attribute runs past the end, or something follows FINGERPRINT
    fingerprint_mismatch  // FINGERPRINT present and wrong
};
const char* to_string(ParseError error);

struct ParseResult {
    ParseError error = ParseError::not_stun;
    // Set when the header was read (error ok, bad_attribute or fingerprint_mismatch): the
    // transaction id is known, so a request can still be answered 400.
    std::optional<Message> message;
};

// Parses one whole message (a UDP datagram, or one framed message from a TCP stream).
ParseResult parse(ByteView bytes);

// How many bytes the message or ChannelData starting the stream takes (padding included, as
// RFC 8656 requires ChannelData to be padded over TCP); nullopt while fewer than 4 bytes are in,
// 0 when the first bytes are neither.
std::optional<std::size_t> stream_frame_size(ByteView prefix);

// Writes a message. Attributes are appended in order; integrity and fingerprint go last.
class MessageBuilder {
  public:
    MessageBuilder(std::uint16_t method, Class cls, const TransactionId& id);
    void add(std::uint16_t type, ByteView value);
    void add_text(std::uint16_t type, std::string_view text);
    void add_u32(std::uint16_t type, std::uint32_t value);
    void add_xor_address(std::uint16_t type, const Endpoint& endpoint);
    void add_error(unsigned code, std::string_view reason);
    void add_unknown_attributes(const std::vector<std::uint16_t>& types);
    void add_integrity(ByteView key);         // HMAC-SHA1 with the key
    void add_integrity_sha256(ByteView key);  // HMAC-SHA256 with the key
    void add_fingerprint();
    const Bytes& bytes() const { return bytes_; }
    Bytes take() { return std::move(bytes_); }

  private:
    void set_length(std::size_t body);

    TransactionId id_;
    Bytes bytes_;
};

// ChannelData: channel number, length, data. RFC 8656 narrowed the numbers to 0x4000-0x4FFF,
// but RFC 5766 clients (coturn's among them) still use up to 0x7FFF, so those are taken too.
constexpr std::uint16_t kMinChannel = 0x4000, kMaxChannel = 0x7FFF;
struct ChannelData {
    std::uint16_t channel = 0;
    ByteView data;
};
inline bool is_channel_data(ByteView bytes) {
    return !bytes.empty() && (bytes[0] & 0xC0) == 0x40;
}
std::optional<ChannelData> parse_channel_data(ByteView bytes);
// Writes the 4-byte header followed by data and, when pad (TCP), zero padding to 4 bytes.
void write_channel_data(Bytes& out, std::uint16_t channel, ByteView data, bool pad);

}  // namespace edgeway::turn::stun
