#include "turn/stun_codec.hpp"

#include "turn/integrity.hpp"

#include <algorithm>

namespace edgeway::turn::stun {
namespace {

std::uint16_t read16(const std::uint8_t* p) {
    return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
}
std::uint32_t read32(const std::uint8_t* p) {
    return static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
           static_cast<std::uint32_t>(p[2]) << 8 | p[3];
}
void put16(std::uint8_t* p, std::uint16_t v) {
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v);
}
void append16(Bytes& out, std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v));
}
std::size_t padded(std::size_t n) {
    return (n + 3) & ~std::size_t{3};
}

}  // namespace

std::uint16_t message_type(std::uint16_t method, Class cls) {
    const unsigned c = static_cast<unsigned>(cls);
    return static_cast<std::uint16_t>((method & 0x000F) | ((method & 0x0070) << 1) |
                                      ((method & 0x0F80) << 2) | ((c & 1) << 4) | ((c & 2) << 7));
}

const Attribute* Message::find(std::uint16_t type) const {
    for (const auto& a : attributes)
        if (a.type == type) return &a;
    return nullptr;
}

std::vector<std::uint16_t> Message::unknown_required() const {
    std::vector<std::uint16_t> unknown;
    for (const auto& a : attributes)
        if (comprehension_required(a.type) && !is_known(a.type) &&
            std::find(unknown.begin(), unknown.end(), a.type) == unknown.end())
            unknown.push_back(a.type);
    return unknown;
}

const char* to_string(ParseError error) {
    switch (error) {
        case ParseError::ok:
            return "ok";
        case ParseError::not_stun:
            return "not a STUN message";
        case ParseError::length_mismatch:
            return "length field does not match the bytes received";
        case ParseError::bad_attribute:
            return "malformed attribute";
        case ParseError::fingerprint_mismatch:
            return "FINGERPRINT mismatch";
    }
    return "?";
}

ParseResult parse(ByteView bytes) {
    ParseResult result;
    if (bytes.size() < kHeaderSize || (bytes[0] & 0xC0) != 0 || read32(&bytes[4]) != kMagicCookie)
        return result;
    const std::size_t length = read16(&bytes[2]);
    if (length % 4 != 0) return result;
    if (kHeaderSize + length != bytes.size()) {
        result.error = ParseError::length_mismatch;
        return result;
    }
    Message message;
    const std::uint16_t type = read16(&bytes[0]);
    message.method = static_cast<std::uint16_t>((type & 0x000F) | ((type & 0x00E0) >> 1) |
                                                ((type & 0x3E00) >> 2));
    message.cls = static_cast<Class>(((type >> 4) & 1) | ((type >> 7) & 2));
    std::copy(bytes.begin() + 8, bytes.begin() + 20, message.transaction_id.begin());
    message.raw = bytes;

    result.error = ParseError::bad_attribute;
    std::size_t pos = kHeaderSize;
    while (pos < bytes.size()) {
        if (bytes.size() - pos < 4 || message.attributes.size() >= kMaxAttributes) {
            result.message = std::move(message);
            return result;
        }
        const std::uint16_t attr_type = read16(&bytes[pos]);
        const std::size_t attr_length = read16(&bytes[pos + 2]);
        if (attr_length > bytes.size() - pos - 4 || padded(attr_length) > bytes.size() - pos - 4 ||
            message.fingerprint_offset != 0) {
            result.message = std::move(message);
            return result;
        }
        // RFC 8489 14.5/14.6: after MESSAGE-INTEGRITY only MESSAGE-INTEGRITY-SHA256 and
        // FINGERPRINT count; after MESSAGE-INTEGRITY-SHA256 only FINGERPRINT.
        const bool after_sha1 = message.integrity_offset != 0;
        const bool after_sha256 = message.integrity_sha256_offset != 0;
        bool keep = true;
        if (attr_type == attr::fingerprint) {
            if (attr_length != 4) {
                result.message = std::move(message);
                return result;
            }
            message.fingerprint_offset = pos;
        } else if (attr_type == attr::message_integrity_sha256) {
            if (after_sha256 || attr_length < 16 || attr_length > 32 || attr_length % 4) {
                result.message = std::move(message);
                return result;
            }
            message.integrity_sha256_offset = pos;
        } else if (attr_type == attr::message_integrity) {
            if (after_sha1 || after_sha256 || attr_length != 20) {
                result.message = std::move(message);
                return result;
            }
            message.integrity_offset = pos;
        } else if (after_sha1 || after_sha256) {
            keep = false;
        }
        if (keep)
            message.attributes.push_back(Attribute{attr_type, bytes.subspan(pos + 4, attr_length)});
        pos += 4 + padded(attr_length);
    }
    if (message.fingerprint_offset != 0) {
        const auto expected = fingerprint_of(bytes.first(message.fingerprint_offset));
        if (read32(&bytes[message.fingerprint_offset + 4]) != expected) {
            result.error = ParseError::fingerprint_mismatch;
            result.message = std::move(message);
            return result;
        }
    }
    result.error = ParseError::ok;
    result.message = std::move(message);
    return result;
}

std::optional<std::size_t> stream_frame_size(ByteView prefix) {
    if (prefix.size() < 4) return std::nullopt;
    const std::size_t length = read16(&prefix[2]);
    if ((prefix[0] & 0xC0) == 0) return length % 4 ? 0 : kHeaderSize + length;
    if (is_channel_data(prefix)) return 4 + padded(length);
    return 0;
}

MessageBuilder::MessageBuilder(std::uint16_t method, Class cls, const TransactionId& id) : id_(id) {
    bytes_.reserve(128);
    append16(bytes_, message_type(method, cls));
    append16(bytes_, 0);
    for (int shift = 24; shift >= 0; shift -= 8)
        bytes_.push_back(static_cast<std::uint8_t>(kMagicCookie >> shift));
    bytes_.insert(bytes_.end(), id.begin(), id.end());
}

void MessageBuilder::set_length(std::size_t body) {
    put16(&bytes_[2], static_cast<std::uint16_t>(body));
}

void MessageBuilder::add(std::uint16_t type, ByteView value) {
    append16(bytes_, type);
    append16(bytes_, static_cast<std::uint16_t>(value.size()));
    bytes_.insert(bytes_.end(), value.begin(), value.end());
    bytes_.resize(padded(bytes_.size()), 0);
    set_length(bytes_.size() - kHeaderSize);
}

void MessageBuilder::add_text(std::uint16_t type, std::string_view text) {
    add(type, ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

void MessageBuilder::add_u32(std::uint16_t type, std::uint32_t value) {
    const std::uint8_t v[4] = {
        static_cast<std::uint8_t>(value >> 24), static_cast<std::uint8_t>(value >> 16),
        static_cast<std::uint8_t>(value >> 8), static_cast<std::uint8_t>(value)};
    add(type, v);
}

void MessageBuilder::add_xor_address(std::uint16_t type, const Endpoint& endpoint) {
    Bytes value;
    encode_xor_address(value, endpoint, id_);
    add(type, value);
}

void MessageBuilder::add_error(unsigned code, std::string_view reason) {
    Bytes value;
    encode_error_code(value, code, reason.substr(0, kMaxReason));
    add(attr::error_code, value);
}

void MessageBuilder::add_unknown_attributes(const std::vector<std::uint16_t>& types) {
    Bytes value;
    for (auto t : types) append16(value, t);
    add(attr::unknown_attributes, value);
}

void MessageBuilder::add_integrity(ByteView key) {
    const auto mac = integrity_sha1_of(bytes_, key);
    add(attr::message_integrity, mac);
}

void MessageBuilder::add_integrity_sha256(ByteView key) {
    const auto mac = integrity_sha256_of(bytes_, key);
    add(attr::message_integrity_sha256, mac);
}

void MessageBuilder::add_fingerprint() {
    const std::uint32_t crc = fingerprint_of(bytes_);
    add_u32(attr::fingerprint, crc);
}

std::optional<ChannelData> parse_channel_data(ByteView bytes) {
    if (bytes.size() < 4 || !is_channel_data(bytes)) return std::nullopt;
    const std::size_t length = read16(&bytes[2]);
    // Over UDP the padding may be absent; over TCP the framing already took it.
    if (length > bytes.size() - 4) return std::nullopt;
    return ChannelData{read16(&bytes[0]), bytes.subspan(4, length)};
}

void write_channel_data(Bytes& out, std::uint16_t channel, ByteView data, bool pad) {
    append16(out, channel);
    append16(out, static_cast<std::uint16_t>(data.size()));
    out.insert(out.end(), data.begin(), data.end());
    if (pad) out.resize(out.size() + (padded(data.size()) - data.size()), 0);
}

}  // namespace edgeway::turn::stun
