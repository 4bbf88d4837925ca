// Which web bridge a new upstream connection goes to when the join host resolves to several
// (DNS A/AAAA records, or several lab entries): round robin over the targets that are not down.
// A target whose connection fails (TCP connect, TLS handshake, or a fresh connection closed
// before any response byte) is down: it gets no new connections while another target is up,
// and the health checker (upstream_checker.hpp) tries it again every health_check_interval_ms
// until it answers. When every target is down, the one that failed longest ago is still tried,
// so a web bridge that is back is found by the next request even before its check.
//
// One balancer serves every worker thread, so that one failure spares all of them and the
// operator reads one log line per change: a mutex guards a small map, held for a lookup per
// connection. Times are passed in, so the state machine is tested without waiting.
#pragma once

#include "common/log.hpp"
#include "common/telemetry.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace edgeway::proxy {

class UpstreamBalancer {
  public:
    using Clock = std::chrono::steady_clock;
    using Millis = std::chrono::milliseconds;

    // What requests are addressed to: the (join) host as normalised, brackets on IPv6, and port.
    struct Service {
        std::string host;
        std::uint16_t port = 443;
        auto operator<=>(const Service&) const = default;
        std::string key() const;   // "host:port"
        std::string name() const;  // "host", or "host:port" when the port is not 443
    };

    // A down target the health checker should try now.
    struct Check {
        Service service;
        std::string address;
    };

    // A request goes to at most this many targets: a try that failed before the web bridge
    // answered is retried once on another one. Bounded, because each try may take
    // connect_timeout_ms; a second failure is rare, as the first marked its target down.
    static constexpr std::size_t kTriesPerRequest = 2;

    explicit UpstreamBalancer(Logger& log) : log_(log) {}

    // The target for the next connection to service among addresses (its targets, in their
    // order, as "host:port"), leaving out those already tried for this request: the next one in
    // turn that is not down; when all of those are down, the one that failed longest ago.
    // Nothing when every address was tried, or kTriesPerRequest were.
    std::optional<std::string> pick(const Service& service,
                                    const std::vector<std::string>& addresses,
                                    const std::vector<std::string>& tried);

    // The target answered (a response head arrived): one more request, and up if it was not.
    void succeeded(const Service& service, const std::string& address,
                   Clock::time_point now = Clock::now());
    // Connecting to the target failed: it is down from now on (logged once, with reason and
    // how often it is checked).
    void failed(const Service& service, const std::string& address, const std::string& reason,
                Millis check_interval, Clock::time_point now = Clock::now());

    // The down targets last tried at least check_interval ago. Each is handed out once until
    // checked() reports on it.
    std::vector<Check> due_checks(Millis check_interval, Clock::time_point now = Clock::now());
    void checked(const Check& check, bool up, const std::string& reason,
                 Clock::time_point now = Clock::now());
    // The service no longer resolves to this target: its state goes.
    void forget(const Service& service, const std::string& address);

    // Every target seen, for the admin: state, since when, why, requests answered.
    std::vector<telemetry::UpstreamTarget> snapshot() const;

  private:
    struct Target {
        telemetry::UpstreamHealth health = telemetry::UpstreamHealth::unchecked;
        telemetry::Clock::time_point since = telemetry::Clock::now();  // entered this health
        Clock::time_point down_at{};                                   // when it went down
        Clock::time_point last_try{};  // its last failure or check, for the next check
        std::string reason;            // why it is down
        std::uint64_t requests = 0;
        bool checking = false;  // a check is running
    };
    struct Targets {
        std::size_t next = 0;  // round-robin position in the last address list
        std::map<std::string, Target> by_address;
    };

    // Under mutex_.
    void mark_up(const Service& service, const std::string& address, Target& target,
                 Clock::time_point now);
    void mark_down(const Service& service, const std::string& address, Target& target,
                   const std::string& reason, Millis check_interval, Clock::time_point now);

    Logger& log_;
    mutable std::mutex mutex_;
    std::map<Service, Targets> services_;
};

}  // namespace edgeway::proxy
