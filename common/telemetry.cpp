#include "common/telemetry.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace edgeway::telemetry {
namespace {

bool contains_folded(std::string_view haystack, std::string_view needle) {
    const auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                                [](char a, char b) {
                                    return std::tolower(static_cast<unsigned char>(a)) ==
                                           std::tolower(static_cast<unsigned char>(b));
                                });
    return it != haystack.end();
}

bool matches(const RequestRecord& record, const RequestFilter& filter) {
    if (filter.refused_only && record.refusal.empty()) return false;
    if (filter.status != 0 && record.status != filter.status) return false;
    if (filter.text.empty()) return true;
    for (const std::string* field : {&record.client, &record.method, &record.host, &record.path,
                                     &record.detail, &record.refusal, &record.protocol})
        if (contains_folded(*field, filter.text)) return true;
    return false;
}

}  // namespace

void RequestLog::record(RequestRecord record) {
    std::lock_guard lock(mutex_);
    ++counters_.by_status[record.status];
    if (!record.refusal.empty()) ++counters_.refused_by_reason[record.refusal];
    counters_.bytes_in += record.bytes_in;
    counters_.bytes_out += record.bytes_out;
    if (capacity_ == 0) return;
    if (records_.size() == capacity_) records_.pop_front();
    records_.push_back(std::move(record));
}

std::vector<RequestRecord> RequestLog::recent(const RequestFilter& filter) const {
    std::vector<RequestRecord> out;
    std::lock_guard lock(mutex_);
    for (auto it = records_.rbegin(); it != records_.rend() && out.size() < filter.limit; ++it)
        if (matches(*it, filter)) out.push_back(*it);
    return out;
}

RequestCounters RequestLog::counters() const {
    std::lock_guard lock(mutex_);
    return counters_;
}

const char* to_string(LinkState state) {
    switch (state) {
        case LinkState::connecting:
            return "Connecting";
        case LinkState::active:
            return "Active";
        case LinkState::failed:
            return "Failed";
    }
    return "Unknown";
}

const char* to_string(UpstreamHealth health) {
    switch (health) {
        case UpstreamHealth::unchecked:
            return "Unchecked";
        case UpstreamHealth::up:
            return "Up";
        case UpstreamHealth::down:
            return "Down";
    }
    return "Unknown";
}

std::string iso8601(Clock::time_point at) {
    const auto ms = std::chrono::time_point_cast<std::chrono::milliseconds>(at);
    const auto seconds = std::chrono::time_point_cast<std::chrono::seconds>(ms);
    return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z", seconds, (ms - seconds).count());
}

}  // namespace edgeway::telemetry
