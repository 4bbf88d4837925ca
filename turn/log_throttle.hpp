// Keeps refusal logging useful under a flood: the same refusal (same code and user) is logged at
// most `burst` times per window, then once more to say the rest of the window is suppressed.
// Without it, anyone who can send UDP to 3478 could fill the edge's journal with 401 lines.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <unordered_map>

namespace edgeway::turn {

class LogThrottle {
  public:
    using Clock = std::chrono::steady_clock;
    enum class Verdict { log, log_last, suppress };

    LogThrottle(std::size_t burst, std::chrono::milliseconds window)
        : burst_(burst), window_(window) {}

    Verdict check(const std::string& key, Clock::time_point now) {
        if (entries_.size() > kMaxKeys) entries_.clear();  // bounded memory, whatever the keys
        auto& entry = entries_[key];
        if (now - entry.start >= window_) entry = Entry{now, 0};
        ++entry.count;
        if (entry.count <= burst_) return Verdict::log;
        return entry.count == burst_ + 1 ? Verdict::log_last : Verdict::suppress;
    }

  private:
    static constexpr std::size_t kMaxKeys = 4096;
    struct Entry {
        Clock::time_point start{};
        std::size_t count = 0;
    };
    std::size_t burst_;
    std::chrono::milliseconds window_;
    std::unordered_map<std::string, Entry> entries_;
};

}  // namespace edgeway::turn
