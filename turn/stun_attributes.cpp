#include "turn/stun_attributes.hpp"

#include <algorithm>

namespace edgeway::turn::stun {
namespace {

std::uint16_t read16(const std::uint8_t* p) {
    return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
}

void put16(Bytes& out, std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v));
}

// The 16 bytes an address is xor'ed with: the magic cookie then the transaction id.
std::array<std::uint8_t, 16> xor_mask(const TransactionId& id) {
    std::array<std::uint8_t, 16> mask{0x21, 0x12, 0xA4, 0x42};
    std::copy(id.begin(), id.end(), mask.begin() + 4);
    return mask;
}

std::optional<Endpoint> decode_address_impl(ByteView value, const TransactionId* id) {
    if (value.size() < 4 || value[0] != 0) return std::nullopt;
    const std::uint8_t family = value[1];
    std::uint16_t port = read16(&value[2]);
    const auto mask = id ? xor_mask(*id) : std::array<std::uint8_t, 16>{};
    if (id) port ^= static_cast<std::uint16_t>(kMagicCookie >> 16);
    if (family == 0x01 && value.size() == 8) {
        boost::asio::ip::address_v4::bytes_type bytes;
        for (std::size_t i = 0; i < 4; ++i) bytes[i] = value[4 + i] ^ mask[i];
        return Endpoint(boost::asio::ip::address_v4(bytes), port);
    }
    if (family == 0x02 && value.size() == 20) {
        boost::asio::ip::address_v6::bytes_type bytes;
        for (std::size_t i = 0; i < 16; ++i) bytes[i] = value[4 + i] ^ mask[i];
        return Endpoint(boost::asio::ip::address_v6(bytes), port);
    }
    return std::nullopt;
}

}  // namespace

bool is_known(std::uint16_t type) {
    switch (type) {
        case attr::mapped_address:
        case attr::username:
        case attr::message_integrity:
        case attr::error_code:
        case attr::unknown_attributes:
        case attr::channel_number:
        case attr::lifetime:
        case attr::xor_peer_address:
        case attr::data:
        case attr::realm:
        case attr::nonce:
        case attr::xor_relayed_address:
        case attr::requested_address_family:
        case attr::even_port:
        case attr::requested_transport:
        case attr::message_integrity_sha256:
        case attr::xor_mapped_address:
        case attr::reservation_token:
            return true;
        default:
            return false;  // DONT-FRAGMENT among them: not supported
    }
}

std::optional<Endpoint> decode_xor_address(ByteView value, const TransactionId& id) {
    return decode_address_impl(value, &id);
}

std::optional<Endpoint> decode_address(ByteView value) {
    return decode_address_impl(value, nullptr);
}

void encode_xor_address(Bytes& out, const Endpoint& endpoint, const TransactionId& id) {
    const auto mask = xor_mask(id);
    out.push_back(0);
    const auto address = endpoint.address();
    out.push_back(address.is_v4() ? 0x01 : 0x02);
    put16(out, static_cast<std::uint16_t>(endpoint.port() ^ (kMagicCookie >> 16)));
    if (address.is_v4()) {
        const auto bytes = address.to_v4().to_bytes();
        for (std::size_t i = 0; i < 4; ++i) out.push_back(bytes[i] ^ mask[i]);
    } else {
        const auto bytes = address.to_v6().to_bytes();
        for (std::size_t i = 0; i < 16; ++i) out.push_back(bytes[i] ^ mask[i]);
    }
}

std::optional<std::uint32_t> decode_u32(ByteView value) {
    if (value.size() != 4) return std::nullopt;
    return static_cast<std::uint32_t>(value[0]) << 24 | static_cast<std::uint32_t>(value[1]) << 16 |
           static_cast<std::uint32_t>(value[2]) << 8 | value[3];
}

std::optional<std::uint8_t> decode_requested_transport(ByteView value) {
    if (value.size() != 4) return std::nullopt;
    return value[0];
}

std::optional<std::uint16_t> decode_channel_number(ByteView value) {
    if (value.size() != 4) return std::nullopt;
    return read16(value.data());
}

std::optional<std::uint8_t> decode_address_family(ByteView value) {
    if (value.size() != 4) return std::nullopt;
    return value[0];
}

std::optional<ErrorCode> decode_error_code(ByteView value) {
    if (value.size() < 4 || value.size() - 4 > kMaxReason) return std::nullopt;
    const unsigned hundreds = value[2] & 0x07, units = value[3];
    if (hundreds < 3 || hundreds > 6 || units > 99) return std::nullopt;
    return ErrorCode{
        hundreds * 100 + units,
        std::string_view(reinterpret_cast<const char*>(value.data() + 4), value.size() - 4)};
}

void encode_error_code(Bytes& out, unsigned code, std::string_view reason) {
    out.push_back(0);
    out.push_back(0);
    out.push_back(static_cast<std::uint8_t>(code / 100));
    out.push_back(static_cast<std::uint8_t>(code % 100));
    out.insert(out.end(), reason.begin(), reason.end());
}

std::optional<std::string_view> decode_text(ByteView value, std::size_t max) {
    if (value.size() > max) return std::nullopt;
    return std::string_view(reinterpret_cast<const char*>(value.data()), value.size());
}

}  // namespace edgeway::turn::stun
