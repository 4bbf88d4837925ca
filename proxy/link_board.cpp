#include "proxy/link_board.hpp"

#include <algorithm>

namespace edgeway::proxy {

using telemetry::Clock;
using telemetry::LinkState;

void LinkBoard::connecting(const std::string& key, const std::string& peer,
                           const std::string& name) {
    std::lock_guard lock(mutex_);
    Row& row = rows_[key];
    row.status.peer = peer;
    row.status.name = name;
    row.status.state = LinkState::connecting;
    row.status.reason.clear();
    row.status.since = Clock::now();
    row.link.reset();
}

void LinkBoard::active(const std::string& key, const std::string& name,
                       const std::shared_ptr<const LinkSession>& link) {
    std::lock_guard lock(mutex_);
    std::erase_if(rows_, [&](const auto& entry) {
        return entry.first != key && entry.second.status.name == name &&
               entry.second.status.state == LinkState::failed;
    });
    Row& row = rows_[key];
    row.status.peer = link->peer();
    row.status.name = name;
    row.status.state = LinkState::active;
    row.status.reason.clear();
    row.link = link;
}

void LinkBoard::failed(const std::string& key, const std::string& reason) {
    std::lock_guard lock(mutex_);
    auto it = rows_.find(key);
    if (it == rows_.end()) return;
    Row& row = it->second;
    if (auto link = row.link.lock()) {
        // Keep what it carried, so the row still says how much went over it.
        const auto last = link->status();
        row.status.streams_total = last.streams_total;
        row.status.bytes_in = last.bytes_in;
        row.status.bytes_out = last.bytes_out;
    }
    // A link that keeps failing stays Failed since its first failure; the reason is the latest.
    if (row.status.state != LinkState::failed) row.status.since = Clock::now();
    row.status.state = LinkState::failed;
    row.status.reason = reason;
    row.status.streams_open = 0;
    row.link.reset();
    drop_oldest_failed();
}

void LinkBoard::remove(const std::string& key) {
    std::lock_guard lock(mutex_);
    rows_.erase(key);
}

void LinkBoard::drop_oldest_failed() {
    std::size_t failed = 0;
    for (const auto& [key, row] : rows_) failed += row.status.state == LinkState::failed;
    while (failed-- > kMaxFailedRows) {
        auto oldest = rows_.end();
        for (auto it = rows_.begin(); it != rows_.end(); ++it)
            if (it->second.status.state == LinkState::failed &&
                (oldest == rows_.end() || it->second.status.since < oldest->second.status.since))
                oldest = it;
        rows_.erase(oldest);
    }
}

std::vector<telemetry::LinkStatus> LinkBoard::snapshot() const {
    const auto domains = domains_ ? domains_() : std::vector<std::string>{};
    std::vector<telemetry::LinkStatus> result;
    std::lock_guard lock(mutex_);
    for (const auto& [key, row] : rows_) {
        telemetry::LinkStatus status = row.status;
        if (auto link = row.link.lock()) {
            status = link->status();
            status.name = row.status.name;
        }
        status.domains = domains;
        result.push_back(std::move(status));
    }
    return result;
}

}  // namespace edgeway::proxy
