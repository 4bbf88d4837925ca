// What a running edge or core tells its administration about itself: the recent requests
// (access and refusals, with counters for /metrics), the state of its traversal links and,
// on an edge, the TURN relay's allocations. The proxy (and turn) libraries fill these; the admin
// library reads them. Thread-safe: traffic threads write, the admin thread reads.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace edgeway::telemetry {

using Clock = std::chrono::system_clock;

// One request as the node saw it. A refused request has a refusal label (a short fixed word,
// used as the /metrics label) and a detail an operator can act on.
struct RequestRecord {
    Clock::time_point at;
    std::string client;    // the browser's address (edge) or the link it came over (core)
    std::string protocol;  // "https" or "wss"
    std::string method, host, path;
    unsigned status = 0;
    std::string refusal;  // empty: forwarded. Else one of the kRefusal… words below
    std::string detail;   // why, in words ("no allow-list rule allows GET https://h:443/x")
    std::uint64_t bytes_in = 0, bytes_out = 0;  // body bytes from and to the client
    std::chrono::milliseconds duration{0};
};

// Refusal labels (bounded set, so that /metrics has a bounded number of series).
inline constexpr const char* kRefusalNoRule = "no_rule";          // 403: the allow list
inline constexpr const char* kRefusalBadRequest = "bad_request";  // 400: malformed, smuggling
inline constexpr const char* kRefusalTooLarge = "too_large";      // 413/431
inline constexpr const char* kRefusalTimeout = "timeout";         // 408
inline constexpr const char* kRefusalNoLink = "no_link";          // 503: no core connected
inline constexpr const char* kRefusalUpstream = "upstream";       // 502/504: web bridge failed
inline constexpr const char* kRefusalDisabled = "disabled";       // 503: web proxy disabled

struct RequestFilter {
    bool refused_only = false;
    unsigned status = 0;  // 0: any
    std::string text;     // substring of client, method, host, path or detail (case-insensitive)
    std::size_t limit = 100;
};

struct RequestCounters {
    std::map<unsigned, std::uint64_t> by_status;
    std::map<std::string, std::uint64_t> refused_by_reason;
    std::uint64_t bytes_in = 0, bytes_out = 0;
};

// The last `capacity` requests and counters over all of them since start.
class RequestLog {
  public:
    explicit RequestLog(std::size_t capacity = 2000) : capacity_(capacity) {}
    void record(RequestRecord record);
    std::vector<RequestRecord> recent(const RequestFilter& filter) const;  // newest first
    RequestCounters counters() const;

  private:
    mutable std::mutex mutex_;
    std::size_t capacity_;
    std::deque<RequestRecord> records_;
    RequestCounters counters_;
};

enum class LinkState { connecting, active, failed };
const char* to_string(LinkState state);  // "Connecting", "Active", "Failed"

// One traversal link. On a core: one per configured edge target (and per link to it); on an
// edge: one per core connected.
struct LinkStatus {
    std::string peer;                  // core: the edge's link address; edge: the core's address
    std::string name;                  // the peer's certificate name
    std::vector<std::string> domains;  // the join domains served over this link
    LinkState state = LinkState::connecting;
    std::string reason;  // why it failed (or the last failure while connecting); "" when active
    Clock::time_point since;  // when it entered this state
    std::uint64_t streams_open = 0, streams_total = 0;
    std::uint64_t bytes_in = 0, bytes_out = 0;  // over the link, from and to the peer
};

enum class UpstreamHealth { unchecked, up, down };
const char* to_string(UpstreamHealth health);  // "Unchecked", "Up", "Down"

// One web bridge target behind one upstream name (the core): a join host can resolve to several.
struct UpstreamTarget {
    std::string service;  // the name requests go to: "join.example.com" (":port" unless 443)
    std::string host;     // its host as normalised (IPv6 in brackets) and port, for matching
    std::uint16_t port = 443;
    std::string address;                                // where the core connects: "10.0.0.6:443"
    UpstreamHealth health = UpstreamHealth::unchecked;  // unchecked: no answer or failure yet
    Clock::time_point since;                            // when it entered this state
    std::string reason;                                 // why it is down
    std::uint64_t requests = 0;                         // requests it answered
};

// One TURN allocation (filled in by the relay; empty until it exists).
struct RelayAllocation {
    std::string user, client, relayed;
    std::vector<std::string> peers;
    std::uint64_t bytes_in = 0, bytes_out = 0, packets_in = 0, packets_out = 0;
    Clock::time_point created;
};

// ISO-8601 UTC with milliseconds: "2026-11-25T19:45:03.120Z".
std::string iso8601(Clock::time_point at);

}  // namespace edgeway::telemetry
