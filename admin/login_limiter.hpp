// Login attempts per client address: after `max_failures` failed logins within `window`, the
// address is locked out for `lockout` (429 with Retry-After), whatever it sends, so a password
// cannot be guessed faster than a few tries per lockout period. A successful login clears the
// address's failures. Not thread-safe: the server's one thread owns it.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <string>

namespace edgeway::admin {

struct LoginLimits {
    unsigned max_failures = 5;
    std::chrono::seconds window{5 * 60};
    std::chrono::seconds lockout{5 * 60};
    std::size_t max_clients = 10000;  // addresses remembered; the oldest are forgotten first
};

class LoginLimiter {
  public:
    using Clock = std::chrono::steady_clock;
    explicit LoginLimiter(LoginLimits limits = {}) : limits_(limits) {}

    // Zero when the client may try; otherwise how long it is still locked out (rounded up).
    std::chrono::seconds locked_for(const std::string& client,
                                    Clock::time_point now = Clock::now());
    // Records a failure; true when it started a lockout.
    bool failed(const std::string& client, Clock::time_point now = Clock::now());
    void succeeded(const std::string& client) { clients_.erase(client); }

  private:
    struct Client {
        std::deque<Clock::time_point> failures;  // within the window, oldest first
        Clock::time_point locked_until{};
    };
    void forget_expired(Clock::time_point now);

    LoginLimits limits_;
    std::map<std::string, Client> clients_;
};

}  // namespace edgeway::admin
