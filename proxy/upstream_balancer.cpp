#include "proxy/upstream_balancer.hpp"

#include <algorithm>

namespace edgeway::proxy {

namespace {

using Health = telemetry::UpstreamHealth;

bool contains(const std::vector<std::string>& list, const std::string& value) {
    return std::find(list.begin(), list.end(), value) != list.end();
}

// "2 s", "500 ms": how the log reads a duration.
std::string describe(std::chrono::milliseconds duration) {
    if (duration.count() % 1000 == 0) return fmt::format("{} s", duration.count() / 1000);
    return fmt::format("{} ms", duration.count());
}

}  // namespace

std::string UpstreamBalancer::Service::key() const {
    return host + ":" + std::to_string(port);
}

std::string UpstreamBalancer::Service::name() const {
    return port == 443 ? host : key();
}

std::optional<std::string> UpstreamBalancer::pick(const Service& service,
                                                  const std::vector<std::string>& addresses,
                                                  const std::vector<std::string>& tried) {
    if (tried.size() >= kTriesPerRequest) return std::nullopt;
    std::lock_guard lock(mutex_);
    Targets& targets = services_[service];
    const std::size_t count = addresses.size();
    const std::string* fallback = nullptr;  // the untried target down the longest
    Clock::time_point fallback_down_at = Clock::time_point::max();
    for (std::size_t i = 0; i < count; ++i) {
        const std::size_t index = (targets.next + i) % count;
        const std::string& address = addresses[index];
        if (contains(tried, address)) continue;
        const Target& target = targets.by_address[address];
        if (target.health != Health::down) {
            targets.next = index + 1;
            return address;
        }
        if (target.down_at < fallback_down_at) {
            fallback = &address;
            fallback_down_at = target.down_at;
        }
    }
    if (fallback) return *fallback;
    return std::nullopt;
}

void UpstreamBalancer::succeeded(const Service& service, const std::string& address,
                                 Clock::time_point now) {
    std::lock_guard lock(mutex_);
    Target& target = services_[service].by_address[address];
    ++target.requests;
    if (target.health != Health::up) mark_up(service, address, target, now);
}

void UpstreamBalancer::failed(const Service& service, const std::string& address,
                              const std::string& reason, Millis check_interval,
                              Clock::time_point now) {
    std::lock_guard lock(mutex_);
    Target& target = services_[service].by_address[address];
    target.last_try = now;
    if (target.health == Health::down) {
        // Tried again while down (every target was): it stays down, failed most recently.
        target.down_at = now;
        target.reason = reason;
        return;
    }
    mark_down(service, address, target, reason, check_interval, now);
}

std::vector<UpstreamBalancer::Check> UpstreamBalancer::due_checks(Millis check_interval,
                                                                  Clock::time_point now) {
    std::vector<Check> due;
    std::lock_guard lock(mutex_);
    for (auto& [service, targets] : services_)
        for (auto& [address, target] : targets.by_address) {
            if (target.health != Health::down || target.checking) continue;
            if (now - target.last_try < check_interval) continue;
            target.checking = true;
            due.push_back({service, address});
        }
    return due;
}

void UpstreamBalancer::checked(const Check& check, bool up, const std::string& reason,
                               Clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto service = services_.find(check.service);
    if (service == services_.end()) return;
    auto it = service->second.by_address.find(check.address);
    if (it == service->second.by_address.end()) return;  // forgotten meanwhile
    Target& target = it->second;
    target.checking = false;
    target.last_try = now;
    if (target.health != Health::down) return;  // a request found it up meanwhile
    if (up)
        mark_up(check.service, check.address, target, now);
    else
        target.reason = reason;
}

void UpstreamBalancer::forget(const Service& service, const std::string& address) {
    std::lock_guard lock(mutex_);
    auto it = services_.find(service);
    if (it == services_.end()) return;
    it->second.by_address.erase(address);
    if (it->second.by_address.empty()) services_.erase(it);
}

std::vector<telemetry::UpstreamTarget> UpstreamBalancer::snapshot() const {
    std::vector<telemetry::UpstreamTarget> rows;
    std::lock_guard lock(mutex_);
    for (const auto& [service, targets] : services_)
        for (const auto& [address, target] : targets.by_address)
            rows.push_back({service.name(), service.host, service.port, address, target.health,
                            target.since, target.reason, target.requests});
    return rows;
}

void UpstreamBalancer::mark_up(const Service& service, const std::string& address, Target& target,
                               Clock::time_point now) {
    if (target.health == Health::down) {
        const auto down_for = std::chrono::duration<double>(now - target.down_at).count();
        log_.info("web bridge {} for {} is up again (down for {:.1f} s)", address, service.name(),
                  down_for);
    }
    target.health = Health::up;
    target.since = telemetry::Clock::now();
    target.reason.clear();
}

void UpstreamBalancer::mark_down(const Service& service, const std::string& address, Target& target,
                                 const std::string& reason, Millis check_interval,
                                 Clock::time_point now) {
    target.health = Health::down;
    target.since = telemetry::Clock::now();
    target.down_at = now;
    target.reason = reason;
    log_.warn("web bridge {} for {} is down: {}; checking it again every {}", address,
              service.name(), reason, describe(check_interval));
    const auto& all = services_[service].by_address;
    const bool none_left = std::all_of(all.begin(), all.end(), [](const auto& entry) {
        return entry.second.health == Health::down;
    });
    if (none_left && all.size() > 1)
        log_.warn(
            "every web bridge for {} is down ({} targets); requests still try them, the one "
            "that failed longest ago first",
            service.name(), all.size());
}

}  // namespace edgeway::proxy
