// Condition waits with a deadline: tests never sleep for a fixed time, they poll a condition.
#pragma once

#include <chrono>
#include <thread>

namespace edgeway::test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

// Polls predicate every poll until it returns true (-> true) or timeout passes (-> false).
template <typename Predicate>
bool wait_until(Predicate&& predicate, Millis timeout, Millis poll = 20ms) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        if (predicate()) return true;
        if (Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(poll);
    }
}

inline double elapsed_ms(Clock::time_point since) {
    return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
}

}  // namespace edgeway::test
