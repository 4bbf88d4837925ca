#include "proxy/drain.hpp"

#include <algorithm>

namespace edgeway::proxy {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kObserverTick{250};
constexpr std::chrono::seconds kLogEvery{1};
// After the deadline: how long the WebSockets closed with 1012 have to go (a frame under way may
// take 2 s to end, the peer 1 s to answer; see WebSocketRelay).
constexpr std::chrono::milliseconds kWebSocketCloseGrace{3500};

std::string plural(std::size_t n, const char* what) {
    return fmt::format("{} {}{}", n, what, n == 1 ? "" : "s");
}

Millis since(Clock::time_point start) {
    return std::chrono::duration_cast<Millis>(Clock::now() - start);
}

}  // namespace

InFlight::Counts InFlight::counts() const {
    const std::size_t websockets = websockets_.load(std::memory_order_relaxed);
    const std::size_t requests = requests_.load(std::memory_order_relaxed);
    // Read one after the other: a WebSocket being counted may show in one and not yet the other.
    return {requests > websockets ? requests - websockets : 0, websockets};
}

void InFlight::changed() {
    if (!watched_.load(std::memory_order_relaxed)) return;
    std::lock_guard lock(mutex_);
    changed_.notify_all();
}

bool InFlight::wait(const std::function<bool(Counts)>& done, Clock::time_point until) {
    watched_ = true;
    std::unique_lock lock(mutex_);
    changed_.wait_until(lock, until, [&] { return hurried_ || done(counts()); });
    return done(counts());
}

void InFlight::hurry() {
    std::lock_guard lock(mutex_);
    hurried_ = true;
    changed_.notify_all();
}

bool InFlight::hurried() const {
    std::lock_guard lock(mutex_);
    return hurried_;
}

DrainProgress wait_for_in_flight(Logger& log, InFlight& in_flight, Clock::time_point start,
                                 Millis deadline, const DrainObserver& observer,
                                 const std::function<void()>& close_websockets) {
    const auto until = start + deadline;
    DrainProgress progress;
    progress.deadline = deadline;
    auto report = [&] {
        const auto counts = in_flight.counts();
        progress.elapsed = since(start);
        progress.requests = counts.requests;
        progress.websockets = counts.websockets;
        if (observer) observer(progress);
        return counts;
    };

    auto counts = report();
    log.info("draining: waiting up to {} ms for {} and {}", deadline.count(),
             plural(counts.requests, "request"), plural(counts.websockets, "WebSocket"));
    auto next_log = start + kLogEvery;
    const auto idle = [](InFlight::Counts c) { return c.idle(); };
    while (!counts.idle() && Clock::now() < until && !in_flight.hurried()) {
        in_flight.wait(idle, std::min(until, Clock::now() + kObserverTick));
        counts = report();
        if (!counts.idle() && Clock::now() >= next_log) {
            log.info("draining: {}, {} left ({:.1f} s of {:.1f} s)",
                     plural(counts.requests, "request"), plural(counts.websockets, "WebSocket"),
                     static_cast<double>(progress.elapsed.count()) / 1000,
                     static_cast<double>(deadline.count()) / 1000);
            next_log += kLogEvery;
        }
    }

    if (counts.websockets > 0) {
        log.info("drain deadline: closing {} with 1012 (service restart)",
                 plural(counts.websockets, "WebSocket"));
        progress.closing = true;
        progress.websockets_closed = counts.websockets;
        close_websockets();
        const auto no_websockets = [](InFlight::Counts c) { return c.websockets == 0; };
        const auto close_until = Clock::now() + kWebSocketCloseGrace;
        while (!no_websockets(counts) && Clock::now() < close_until && !in_flight.hurried()) {
            in_flight.wait(no_websockets, std::min(close_until, Clock::now() + kObserverTick));
            counts = report();
        }
    }
    if (counts.requests > 0)
        log.warn("drain deadline: {} still in flight, cut off", plural(counts.requests, "request"));
    progress.done = true;
    report();
    log.info("drained in {} ms", progress.elapsed.count());
    return progress;
}

}  // namespace edgeway::proxy
