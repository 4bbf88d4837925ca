#include "turn/nonce.hpp"

#include "turn/integrity.hpp"

#include <openssl/rand.h>

#include <charconv>
#include <stdexcept>

namespace edgeway::turn {
namespace {

constexpr std::size_t kExpiryDigits = 16;  // hex of a 64-bit count of milliseconds
constexpr std::size_t kMacDigits = 16;     // hex of the HMAC's first 8 bytes

std::uint64_t millis(SteadyClock::time_point t) {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count());
}

}  // namespace

NonceIssuer::NonceIssuer(std::chrono::milliseconds lifetime) : lifetime_(lifetime) {
    if (RAND_bytes(key_.data(), static_cast<int>(key_.size())) != 1)
        throw std::runtime_error("no random bytes from OpenSSL for the TURN nonce key");
}

std::string NonceIssuer::mac(std::uint64_t expiry) const {
    std::uint8_t bytes[8];
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<std::uint8_t>(expiry >> (56 - 8 * i));
    const auto full = stun::hmac_sha1(key_, bytes);
    return stun::hex(stun::ByteView(full.data(), kMacDigits / 2));
}

std::string NonceIssuer::issue(SteadyClock::time_point now) const {
    const std::uint64_t expiry = millis(now + lifetime_);
    char text[kExpiryDigits + 1];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(expiry));
    return std::string(text) + mac(expiry);
}

NonceIssuer::Check NonceIssuer::check(std::string_view nonce, SteadyClock::time_point now) const {
    if (nonce.size() != kExpiryDigits + kMacDigits) return Check::invalid;
    std::uint64_t expiry = 0;
    const auto* begin = nonce.data();
    const auto [end, ec] = std::from_chars(begin, begin + kExpiryDigits, expiry, 16);
    if (ec != std::errc() || end != begin + kExpiryDigits) return Check::invalid;
    if (nonce.substr(kExpiryDigits) != mac(expiry)) return Check::invalid;
    return expiry <= millis(now) ? Check::stale : Check::valid;
}

}  // namespace edgeway::turn
