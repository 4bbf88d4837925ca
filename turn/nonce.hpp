// Stateless nonces with an expiry (RFC 8489 9.2): the nonce carries its expiry time and an HMAC
// of it under a key drawn at start, so the server keeps no per-client state and a nonce from
// before a restart is simply stale.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace edgeway::turn {

using SteadyClock = std::chrono::steady_clock;

class NonceIssuer {
  public:
    explicit NonceIssuer(std::chrono::milliseconds lifetime);
    std::string issue(SteadyClock::time_point now) const;
    enum class Check { valid, stale, invalid };
    Check check(std::string_view nonce, SteadyClock::time_point now) const;

  private:
    std::string mac(std::uint64_t expiry) const;

    std::chrono::milliseconds lifetime_;
    std::array<std::uint8_t, 32> key_{};
};

}  // namespace edgeway::turn
