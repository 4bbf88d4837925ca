// A core's membership: one thread that writes the core's record on its lease, keeps the lease
// alive, reads every core's record and asks the members how they are, once per round. Every
// store call is synchronous and bounded by the store's timeout; what the admin thread reads
// (view) is copied out under the mutex.
#include "cluster/cluster.hpp"

namespace edgeway::cluster {

using json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr const char* kCores = "members/cores/";
// Marks a core that left on purpose, so that the others drop its record rather than call it
// lost; on a lease of its own that ends when the others have forgotten it anyway.
constexpr const char* kDeparted = "members/departed/";
constexpr Millis kDepartedFor = std::chrono::duration_cast<Millis>(Roster::kLostFor);
// The members' status is asked within this (or the store's timeout, if shorter), so that a
// silent member delays the round little.
constexpr Millis kHealthTimeout{1000};

}  // namespace

Membership::Membership(state::Config store, LinkSource links, Logger& log)
    : Membership(std::move(store), std::move(links), log, Timing{}) {}

Membership::Membership(state::Config store, LinkSource links, Logger& log, Timing timing)
    : store_(std::move(store)), links_(std::move(links)), log_(log), timing_(timing) {
    if (store_.backend == state::Backend::etcd) {
        health_.backend = "etcd";
        client_ = std::make_unique<state::Client>(store_.etcd);
    }
}

Membership::~Membership() {
    leave();
}

void Membership::start(Identity identity) {
    {
        std::lock_guard lock(mutex_);
        identity_ = std::move(identity);
        started_ = true;
    }
    if (client_) thread_ = std::thread([this] { run(); });
}

void Membership::draining() {
    std::lock_guard lock(mutex_);
    state_ = "draining";
    poked_ = true;
    wake_.notify_all();
}

void Membership::leave() {
    {
        std::lock_guard lock(mutex_);
        if (left_) return;
        left_ = true;
        stopping_ = true;
        wake_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
    if (!client_ || lease_ == 0) return;
    const std::string id = member_id(identity_.name);
    try {
        const auto mark = client_->grant_lease(kDepartedFor);
        client_->put(kDeparted + id, telemetry::iso8601(Clock::now()), mark);
        client_->revoke_lease(lease_);
        log_.info("cluster: left; the record {} is gone", kCores + id);
    } catch (const state::Error& e) {
        log_.warn(
            "cluster: could not remove this core's record ({}); it goes when its lease "
            "ends, in {} ms",
            e.what(), timing_.ttl.count());
    }
}

Member Membership::self() const {
    Member me;
    {
        std::lock_guard lock(mutex_);
        me.name = identity_.name;
        me.version = identity_.version;
        me.admin_url = identity_.admin_url;
        me.started = telemetry::iso8601(identity_.started);
        me.state = state_;
    }
    me.id = member_id(me.name);
    me.updated = telemetry::iso8601(Clock::now());
    me.links = summarize(links_());
    return me;
}

View Membership::view() const {
    View view;
    KnownCore me{self(), true, false, false, ""};
    me.last_seen = me.member.updated;
    std::lock_guard lock(mutex_);
    view.store = health_;
    view.cores.push_back(std::move(me));
    for (auto core : roster_.cores()) {
        if (core.member.id == view.cores.front().member.id) continue;
        core.stale = !health_.healthy;
        view.cores.push_back(std::move(core));
    }
    return view;
}

void Membership::run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        lock.unlock();
        round();
        lock.lock();
        wake_.wait_for(lock, timing_.round, [this] { return stopping_ || poked_; });
        poked_ = false;
    }
}

void Membership::round() {
    const auto now = SteadyClock::now();
    try {
        write_record(self(), now);
        read_cluster();
        if (reported_outage_) log_.info("cluster: the store answers again");
        reported_outage_ = false;
    } catch (const state::Error& e) {
        // Unavailable: the store is away; anything else (a lease that expired meanwhile, say):
        // a new lease and the whole record next round.
        if (!dynamic_cast<const state::Unavailable*>(&e)) lease_ = 0;
        std::lock_guard lock(mutex_);
        health_.healthy = false;
        health_.last_error = e.what();
        if (!reported_outage_)
            log_.warn(
                "cluster: cannot reach the store, the cluster view is the last one read: "
                "{}",
                e.what());
        reported_outage_ = true;
    }
    if (now - last_health_ >= timing_.health_every) check_health();
}

void Membership::write_record(const Member& me, SteadyClock::time_point now) {
    const std::string key = kCores + me.id;
    if (lease_ == 0) {
        lease_ = client_->grant_lease(timing_.ttl);
        last_keepalive_ = now;
        written_.clear();
        client_->erase(kDeparted + me.id);
        log_.info("cluster: registered as {} (lease {:x}, {} ms)", key, lease_,
                  timing_.ttl.count());
    }
    json record = to_json(me);
    record.erase("updated");
    const std::string content = record.dump();
    const bool changed = content != written_;
    if ((changed && now - last_write_ >= timing_.min_interval) ||
        now - last_write_ >= timing_.refresh) {
        client_->put(key, to_json(me).dump(), lease_);
        written_ = content;
        last_write_ = now;
    }
    if (now - last_keepalive_ >= timing_.ttl / 3) {
        if (!client_->keep_alive(lease_)) throw state::Error("this core's lease has expired");
        last_keepalive_ = now;
    }
}

void Membership::read_cluster() {
    const state::Range range = client_->get_prefix("members/");
    std::vector<Member> present;
    std::set<std::string> departed;
    for (const auto& kv : range.kvs) {
        if (kv.key.starts_with(kDeparted)) {
            departed.insert(kv.key.substr(std::string_view(kDeparted).size()));
        } else if (kv.key.starts_with(kCores)) {
            try {
                present.push_back(member_from_json(json::parse(kv.value)));
            } catch (const std::exception& e) {
                log_.warn("cluster: record {} ignored: {}", kv.key, e.what());
            }
        }
    }
    std::lock_guard lock(mutex_);
    roster_.update(present, departed, Clock::now());
    health_.healthy = true;
    health_.revision = range.revision;
    health_.last_error.clear();
}

void Membership::check_health() {
    last_health_ = SteadyClock::now();
    state::EtcdOptions options = store_.etcd;
    options.timeout = std::min(options.timeout, kHealthTimeout);
    auto endpoints = state::member_status(options);
    std::lock_guard lock(mutex_);
    health_.endpoints = std::move(endpoints);
}

}  // namespace edgeway::cluster
