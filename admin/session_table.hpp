// Logged-in sessions, in memory (a restart logs everyone out). The browser holds a 256-bit
// random token in a cookie; the table keeps only its SHA-256, so a memory dump or a log line
// never yields a usable cookie. Each session has its own CSRF token. Not thread-safe: the
// server's one thread owns it.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>

namespace edgeway::admin {

struct SessionTimes {
    std::chrono::seconds idle{30 * 60};
    std::chrono::seconds absolute{12 * 3600};
};

struct Session {
    std::string user;
    std::string csrf_token;  // sent back in X-CSRF-Token on every state-changing request
    std::chrono::steady_clock::time_point created, last_used;
};

class SessionTable {
  public:
    using Clock = std::chrono::steady_clock;
    explicit SessionTable(SessionTimes times = {}, std::size_t max_sessions = 1000)
        : times_(times), max_sessions_(max_sessions) {}

    // A new session; returns the cookie token (the only copy of it).
    std::string create(const std::string& user, Clock::time_point now = Clock::now());
    // The live session for a cookie token, its idle time renewed; expired ones are removed.
    Session* find(const std::string& token, Clock::time_point now = Clock::now());
    void remove(const std::string& token);
    // Ends every session of this user (an account deleted); returns how many.
    std::size_t remove_user(const std::string& user);
    std::size_t size() const { return sessions_.size(); }
    const SessionTimes& times() const { return times_; }

  private:
    bool expired(const Session& session, Clock::time_point now) const;
    void prune(Clock::time_point now);

    SessionTimes times_;
    std::size_t max_sessions_;
    std::map<std::string, Session> sessions_;  // key: SHA-256 of the token
};

}  // namespace edgeway::admin
