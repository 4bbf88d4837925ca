// Reconnect delays: exponential from min to max, each drawn at random from its upper half so
// that many cores restarted together do not redial in lockstep ("equal jitter").
#pragma once

#include <algorithm>
#include <chrono>
#include <random>

namespace edgeway::proxy {

class Backoff {
  public:
    using Millis = std::chrono::milliseconds;
    Backoff(Millis min, Millis max, std::uint64_t seed) : min_(min), max_(max), random_(seed) {}

    Millis next() {
        const auto ceiling =
            std::min<std::int64_t>(max_.count(), min_.count() << std::min(attempt_, 20));
        ++attempt_;
        std::uniform_int_distribution<std::int64_t> pick(ceiling / 2, ceiling);
        return Millis(pick(random_));
    }
    void reset() { attempt_ = 0; }

  private:
    Millis min_, max_;
    int attempt_ = 0;
    std::mt19937_64 random_;
};

}  // namespace edgeway::proxy
