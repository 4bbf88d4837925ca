// The cryptography of STUN: the long-term key, MESSAGE-INTEGRITY (HMAC-SHA1),
// MESSAGE-INTEGRITY-SHA256 and FINGERPRINT (CRC-32), all over the message as it was on the wire.
#pragma once

#include "turn/stun_codec.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace edgeway::turn::stun {

using Md5 = std::array<std::uint8_t, 16>;
using Sha1 = std::array<std::uint8_t, 20>;
using Sha256 = std::array<std::uint8_t, 32>;

// RFC 8489 9.2.2: key = MD5(username ":" realm ":" password) (passwords are taken as given:
// no SASLprep/OpaqueString, which only changes non-ASCII passwords).
Md5 long_term_key(std::string_view username, std::string_view realm, std::string_view password);

Sha1 hmac_sha1(ByteView key, ByteView data);
Sha256 hmac_sha256(ByteView key, ByteView data);
std::uint32_t crc32(ByteView data);

// FINGERPRINT value of the first `length` bytes of message (its header's length patched to
// cover the FINGERPRINT attribute that follows them).
std::uint32_t fingerprint_of(ByteView message_prefix);
// MESSAGE-INTEGRITY(-SHA256) value of the first `prefix` bytes, the header length patched to end
// right after an integrity attribute of value size mac_size.
Sha1 integrity_sha1_of(ByteView message_prefix, ByteView key);
Sha256 integrity_sha256_of(ByteView message_prefix, ByteView key);

enum class IntegrityCheck { absent, ok, mismatch };
// Checks MESSAGE-INTEGRITY-SHA256 when present (its value may be truncated to 16..32 bytes),
// else MESSAGE-INTEGRITY, in constant time.
IntegrityCheck check_integrity(const Message& message, ByteView key);

// base64 (for TURN REST API passwords) and lowercase hex.
std::string base64(ByteView data);
std::string hex(ByteView data);

}  // namespace edgeway::turn::stun
