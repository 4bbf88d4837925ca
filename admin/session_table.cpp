#include "admin/session_table.hpp"

#include "admin/secrets.hpp"

namespace edgeway::admin {

constexpr std::size_t kTokenBytes = 32;

std::string SessionTable::create(const std::string& user, Clock::time_point now) {
    prune(now);
    // Full: the oldest session goes, rather than a new login being refused.
    if (sessions_.size() >= max_sessions_) {
        auto oldest = sessions_.begin();
        for (auto it = sessions_.begin(); it != sessions_.end(); ++it)
            if (it->second.last_used < oldest->second.last_used) oldest = it;
        sessions_.erase(oldest);
    }
    const std::string token = to_base64url(random_bytes(kTokenBytes));
    sessions_[sha256(token)] = Session{user, to_base64url(random_bytes(kTokenBytes)), now, now};
    return token;
}

Session* SessionTable::find(const std::string& token, Clock::time_point now) {
    if (token.empty()) return nullptr;
    const auto it = sessions_.find(sha256(token));
    if (it == sessions_.end()) return nullptr;
    if (expired(it->second, now)) {
        sessions_.erase(it);
        return nullptr;
    }
    it->second.last_used = now;
    return &it->second;
}

void SessionTable::remove(const std::string& token) {
    sessions_.erase(sha256(token));
}

std::size_t SessionTable::remove_user(const std::string& user) {
    return std::erase_if(sessions_, [&](const auto& entry) { return entry.second.user == user; });
}

bool SessionTable::expired(const Session& session, Clock::time_point now) const {
    return now - session.last_used >= times_.idle || now - session.created >= times_.absolute;
}

void SessionTable::prune(Clock::time_point now) {
    for (auto it = sessions_.begin(); it != sessions_.end();)
        it = expired(it->second, now) ? sessions_.erase(it) : std::next(it);
}

}  // namespace edgeway::admin
