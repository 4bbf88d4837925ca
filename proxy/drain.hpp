// What a drain needs on both roles: a count of the work in flight, kept by the worker threads,
// and the wait for it to end before the deadline, after which the WebSockets still open are
// closed with 1012 (service restart).
#pragma once

#include "common/log.hpp"
#include "proxy/proxy.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <utility>

namespace edgeway::proxy {

// Requests being served (a WebSocket counts as one, from its upgrade request on) and, among
// them, the WebSockets. A request costs one atomic add and subtract: nothing next to its TLS.
class InFlight {
  public:
    struct Counts {
        std::size_t requests = 0;  // WebSockets not included
        std::size_t websockets = 0;
        bool idle() const { return requests == 0 && websockets == 0; }
    };

    // Counts one request for as long as it lives.
    class Ticket {
      public:
        explicit Ticket(InFlight& in_flight) : in_flight_(&in_flight) { in_flight.add(+1); }
        ~Ticket() { release(); }
        Ticket(Ticket&& other) noexcept : in_flight_(std::exchange(other.in_flight_, nullptr)) {}
        Ticket(const Ticket&) = delete;
        Ticket& operator=(const Ticket&) = delete;
        void release() {
            if (in_flight_) in_flight_->add(-1);
            in_flight_ = nullptr;
        }

      private:
        InFlight* in_flight_;
    };

    void websocket_opened() { websockets_.fetch_add(1, std::memory_order_relaxed); }
    void websocket_closed() {
        websockets_.fetch_sub(1, std::memory_order_relaxed);
        changed();
    }
    Counts counts() const;

    // Blocks until done() holds, `until` passes or hurry() is called; true when done() held.
    // Woken at every change of the counts.
    bool wait(const std::function<bool(Counts)>& done, std::chrono::steady_clock::time_point until);
    // From any thread (a second stop signal): the drain goes to its deadline now.
    void hurry();
    bool hurried() const;

  private:
    void add(int delta) {
        requests_.fetch_add(static_cast<std::size_t>(delta), std::memory_order_relaxed);
        if (delta < 0) changed();
    }
    void changed();

    std::atomic<std::size_t> requests_{0}, websockets_{0};
    std::atomic<bool> watched_{false};  // a drain waits: tell it of every change
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    bool hurried_ = false;
};

// The waiting part of a drain, the same on edge and core. In-flight work may go on until the
// deadline, counted from start (progress logged every second, the observer told four times a
// second); then close_websockets() (which asks every worker to close its WebSockets with 1012)
// and a few seconds for them to go. Requests still running then are left to the caller to cut.
DrainProgress wait_for_in_flight(Logger& log, InFlight& in_flight,
                                 std::chrono::steady_clock::time_point start, Millis deadline,
                                 const DrainObserver& observer,
                                 const std::function<void()>& close_websockets);

}  // namespace edgeway::proxy
