#include "turn/integrity.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <stdexcept>

namespace edgeway::turn::stun {
namespace {

// The message prefix with its header length patched to end after an attribute of value size
// `value_size` appended right after the prefix.
Bytes patched(ByteView prefix, std::size_t value_size) {
    Bytes copy(prefix.begin(), prefix.end());
    const std::size_t length = prefix.size() - kHeaderSize + 4 + value_size;
    copy[2] = static_cast<std::uint8_t>(length >> 8);
    copy[3] = static_cast<std::uint8_t>(length);
    return copy;
}

constexpr std::array<std::uint32_t, 256> make_crc_table() {
    std::array<std::uint32_t, 256> table{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    return table;
}
constexpr auto kCrcTable = make_crc_table();

}  // namespace

Md5 long_term_key(std::string_view username, std::string_view realm, std::string_view password) {
    std::string text;
    text.reserve(username.size() + realm.size() + password.size() + 2);
    text.append(username).append(":").append(realm).append(":").append(password);
    Md5 out{};
    unsigned size = 0;
    if (EVP_Digest(text.data(), text.size(), out.data(), &size, EVP_md5(), nullptr) != 1)
        throw std::runtime_error("MD5 is not available from OpenSSL");
    OPENSSL_cleanse(text.data(), text.size());
    return out;
}

Sha1 hmac_sha1(ByteView key, ByteView data) {
    Sha1 out{};
    unsigned size = 0;
    HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), data.data(), data.size(), out.data(),
         &size);
    return out;
}

Sha256 hmac_sha256(ByteView key, ByteView data) {
    Sha256 out{};
    unsigned size = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data.data(), data.size(),
         out.data(), &size);
    return out;
}

std::uint32_t crc32(ByteView data) {
    std::uint32_t c = 0xFFFFFFFFu;
    for (auto b : data) c = kCrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

std::uint32_t fingerprint_of(ByteView message_prefix) {
    return crc32(patched(message_prefix, 4)) ^ 0x5354554Eu;
}

Sha1 integrity_sha1_of(ByteView message_prefix, ByteView key) {
    return hmac_sha1(key, patched(message_prefix, 20));
}

Sha256 integrity_sha256_of(ByteView message_prefix, ByteView key) {
    return hmac_sha256(key, patched(message_prefix, 32));
}

IntegrityCheck check_integrity(const Message& message, ByteView key) {
    if (message.integrity_sha256_offset != 0) {
        const auto* attribute = message.find(attr::message_integrity_sha256);
        const auto prefix = message.raw.first(message.integrity_sha256_offset);
        // A truncated MAC is computed with the length covering the truncated attribute.
        Bytes copy = patched(prefix, attribute->value.size());
        const auto mac = hmac_sha256(key, copy);
        return CRYPTO_memcmp(mac.data(), attribute->value.data(), attribute->value.size()) == 0
                   ? IntegrityCheck::ok
                   : IntegrityCheck::mismatch;
    }
    if (message.integrity_offset != 0) {
        const auto* attribute = message.find(attr::message_integrity);
        const auto mac = integrity_sha1_of(message.raw.first(message.integrity_offset), key);
        return CRYPTO_memcmp(mac.data(), attribute->value.data(), mac.size()) == 0
                   ? IntegrityCheck::ok
                   : IntegrityCheck::mismatch;
    }
    return IntegrityCheck::absent;
}

std::string base64(ByteView data) {
    std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data.data(),
                                  static_cast<int>(data.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::string hex(ByteView data) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(data.size() * 2);
    for (auto b : data) {
        out.push_back(kDigits[b >> 4]);
        out.push_back(kDigits[b & 15]);
    }
    return out;
}

}  // namespace edgeway::turn::stun
