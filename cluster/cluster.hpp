// Public interface of the cluster library: what a core tells the other cores about itself and
// what it knows of the cluster. With the etcd backend each core keeps a member record under
// members/cores/<id>, bound to a lease it keeps alive, so that the record goes at once when the
// core leaves (the lease is revoked) and within the lease's time to live when it dies. With
// SQLite the cluster is this core alone. Everything else in cluster/ is private to it.
#pragma once

#include "common/log.hpp"
#include "common/telemetry.hpp"
#include "state/state.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace edgeway::cluster {

using Clock = telemetry::Clock;
using Millis = std::chrono::milliseconds;

// A core's links to one edge of its list (links_per_edge of them, summed up). Times are
// ISO-8601 UTC, as the records carry them.
struct EdgeLinks {
    std::string edge;   // the edge's link address, as configured
    std::string name;   // the name its link certificate must carry
    std::string state;  // "up" (a link at least is up), "connecting" or "down"
    std::string since;  // when the first of those links entered that state
    std::string last_error;
    unsigned links_up = 0, links = 0;
    std::uint64_t streams_open = 0;
    std::uint64_t requests = 0;  // streams served over these links since they came up
    bool operator==(const EdgeLinks&) const = default;
};
// One entry per edge, in the order the rows come (the core's "address#n" rows).
std::vector<EdgeLinks> summarize(const std::vector<telemetry::LinkStatus>& links);

struct Member {
    std::string id;  // its key under members/cores/: the name, with [A-Za-z0-9._-] kept
    std::string name, version, admin_url;
    std::string state = "serving";  // or "draining"
    std::string started, updated;
    std::vector<EdgeLinks> links;
    bool operator==(const Member&) const = default;
};
// The record's JSON, and back: throws std::runtime_error on a record that is not one.
nlohmann::json to_json(const Member& member);
Member member_from_json(const nlohmann::json& record);
// "core-a.example.com:445" -> "core-a.example.com_445".
std::string member_id(const std::string& name);

struct StoreHealth {
    std::string backend = "sqlite";  // or "etcd"
    bool healthy = true;             // the last read of the cluster worked
    std::vector<state::MemberStatus> endpoints;
    std::int64_t revision = 0;  // the store's, at the last read
    std::string last_error;     // of the last read that failed; "" once one works again
};

struct KnownCore {
    Member member;
    bool self = false;
    bool stale = false;  // the store cannot be read now: the record as last read
    // Its record went without the core leaving: its lease expired (the core died or lost the
    // store). Kept for a while so that the page says so.
    bool lost = false;
    std::string last_seen;  // when the record was last read
};

struct View {
    StoreHealth store;
    std::vector<KnownCore> cores;  // this core first, then by name
};

// What one core knows of the others, from the records read each round: a record that is
// gone stays as lost for kLostFor, unless its core left (its id among `departed`).
class Roster {
  public:
    static constexpr std::chrono::minutes kLostFor{10};

    void update(const std::vector<Member>& present, const std::set<std::string>& departed,
                Clock::time_point now);
    void forget(const std::string& id);
    std::vector<KnownCore> cores() const;  // by name, without the stale mark

  private:
    struct Entry {
        Member member;
        bool lost = false;
        Clock::time_point last_seen;
    };
    std::map<std::string, Entry> known_;
};

// This core's membership: its record in the store (kept up to date: at most once per
// min_interval on a change, else every refresh; kept alive on its lease) and its view of the
// cluster, read from the store each round. Runs on a thread of its own; with SQLite it runs
// none and the view is this core alone.
class Membership {
  public:
    struct Identity {
        std::string name;  // the configuration's node_name, else hostname:admin port
        std::string version, admin_url;
        Clock::time_point started;
    };
    struct Timing {
        Millis ttl{10000};   // the lease's: how soon a dead core's record goes
        Millis round{1000};  // how often the cluster is read (and the record checked)
        Millis min_interval{1000};
        Millis refresh{10000};
        Millis health_every{2000};  // the members' status
    };
    using LinkSource = std::function<std::vector<telemetry::LinkStatus>()>;

    Membership(state::Config store, LinkSource links, Logger& log);
    Membership(state::Config store, LinkSource links, Logger& log, Timing timing);
    ~Membership();  // leave()
    Membership(const Membership&) = delete;
    Membership& operator=(const Membership&) = delete;

    void start(Identity identity);
    // The core drains: its record says so at once.
    void draining();
    // Revokes the lease (the record goes at once) and stops the thread; marks the departure so
    // that the others do not count the core as lost. Nothing happens after.
    void leave();

    View view() const;  // from any thread

  private:
    void run();
    void round();
    void write_record(const Member& me, std::chrono::steady_clock::time_point now);
    void read_cluster();
    void check_health();
    Member self() const;

    state::Config store_;
    LinkSource links_;
    Logger& log_;
    Timing timing_;
    std::unique_ptr<state::Client> client_;  // etcd only; the thread's

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false, poked_ = false, started_ = false, left_ = false;
    Identity identity_;
    std::string state_ = "serving";
    Roster roster_;
    StoreHealth health_;

    // The thread's own.
    std::int64_t lease_ = 0;
    std::string written_;  // the record last written, without its "updated"
    std::chrono::steady_clock::time_point last_write_, last_keepalive_, last_health_;
    bool reported_outage_ = false;
    std::thread thread_;
};

}  // namespace edgeway::cluster
