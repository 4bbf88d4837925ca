// Random tokens, hashes and comparisons for secrets, all from OpenSSL.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace edgeway::admin {

// n bytes from the OpenSSL CSPRNG; throws std::runtime_error if it fails.
std::string random_bytes(std::size_t n);
std::string to_hex(std::string_view bytes);
// base64url without padding: cookie- and URL-safe.
std::string to_base64url(std::string_view bytes);
bool from_base64url(std::string_view text, std::string& bytes);
std::string sha256(std::string_view bytes);  // raw 32 bytes
// Constant time for equal lengths (CRYPTO_memcmp); different lengths are unequal at once.
bool equal_secrets(std::string_view a, std::string_view b);

}  // namespace edgeway::admin
