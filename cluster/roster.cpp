#include "cluster/cluster.hpp"

#include <algorithm>

namespace edgeway::cluster {

void Roster::update(const std::vector<Member>& present, const std::set<std::string>& departed,
                    Clock::time_point now) {
    for (auto it = known_.begin(); it != known_.end();) {
        const bool here = std::any_of(present.begin(), present.end(),
                                      [&](const Member& m) { return m.id == it->first; });
        if (!here && (departed.contains(it->first) || now - it->second.last_seen > kLostFor)) {
            it = known_.erase(it);
            continue;
        }
        it->second.lost = !here;
        ++it;
    }
    for (const auto& member : present) known_[member.id] = {member, false, now};
}

void Roster::forget(const std::string& id) {
    known_.erase(id);
}

std::vector<KnownCore> Roster::cores() const {
    std::vector<KnownCore> result;
    for (const auto& [id, entry] : known_)
        result.push_back(
            {entry.member, false, false, entry.lost, telemetry::iso8601(entry.last_seen)});
    std::sort(result.begin(), result.end(),
              [](const KnownCore& a, const KnownCore& b) { return a.member.name < b.member.name; });
    return result;
}

}  // namespace edgeway::cluster
