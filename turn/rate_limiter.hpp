// A token bucket on packets and bytes per second with one second of burst: the bound on what one
// allocation may relay in one direction.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace edgeway::turn {

class RateLimiter {
  public:
    using Clock = std::chrono::steady_clock;
    RateLimiter(std::uint32_t packets_per_second, std::uint64_t bytes_per_second)
        : pps_(packets_per_second),
          bps_(static_cast<double>(bytes_per_second)),
          packets_(pps_),
          bytes_(bps_) {}

    bool allow(std::size_t size, Clock::time_point now) {
        const double seconds = std::chrono::duration<double>(now - last_).count();
        last_ = now;
        if (seconds > 0) {
            packets_ = std::min(pps_, packets_ + seconds * pps_);
            bytes_ = std::min(bps_, bytes_ + seconds * bps_);
        }
        if (packets_ < 1 || bytes_ < static_cast<double>(size)) return false;
        packets_ -= 1;
        bytes_ -= static_cast<double>(size);
        return true;
    }

  private:
    double pps_, bps_;
    double packets_, bytes_;
    Clock::time_point last_ = Clock::now();
};

}  // namespace edgeway::turn
