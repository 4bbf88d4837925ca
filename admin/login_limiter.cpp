#include "admin/login_limiter.hpp"

namespace edgeway::admin {

std::chrono::seconds LoginLimiter::locked_for(const std::string& client, Clock::time_point now) {
    const auto it = clients_.find(client);
    if (it == clients_.end() || it->second.locked_until <= now) return std::chrono::seconds(0);
    const auto left = it->second.locked_until - now;
    return std::chrono::ceil<std::chrono::seconds>(left);
}

bool LoginLimiter::failed(const std::string& client, Clock::time_point now) {
    if (clients_.size() >= limits_.max_clients) forget_expired(now);
    if (clients_.size() >= limits_.max_clients && !clients_.count(client))
        clients_.erase(clients_.begin());
    Client& entry = clients_[client];
    while (!entry.failures.empty() && now - entry.failures.front() >= limits_.window)
        entry.failures.pop_front();
    entry.failures.push_back(now);
    if (entry.failures.size() < limits_.max_failures) return false;
    entry.failures.clear();
    entry.locked_until = now + limits_.lockout;
    return true;
}

void LoginLimiter::forget_expired(Clock::time_point now) {
    for (auto it = clients_.begin(); it != clients_.end();) {
        const bool locked = it->second.locked_until > now;
        const bool recent =
            !it->second.failures.empty() && now - it->second.failures.back() < limits_.window;
        it = locked || recent ? std::next(it) : clients_.erase(it);
    }
}

}  // namespace edgeway::admin
