// Public interface of the state library: where a core keeps what operators change (the
// backend choice of its configuration), and a small synchronous client of etcd's v3 JSON
// gateway (POST /v3/kv/range|put|deleterange|txn, streaming POST /v3/watch; keys and values
// base64 on the wire) with several endpoints, fail-over and a timeout per request. Everything
// else in state/ is private to it.
//
// Keys are given and returned relative to the configured prefix ("/edgeway/" by default), so the
// stores never see it. Errors: state::Unavailable when no member could answer (none reachable,
// or none with a leader: the cluster lost its quorum); state::Error for anything else etcd
// refused or answered in a way that makes no sense.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace edgeway::state {

using Millis = std::chrono::milliseconds;

struct EtcdOptions {
    std::vector<std::string> endpoints;  // "http://127.0.0.1:2379" or "https://etcd1:2379"
    std::string prefix = "/edgeway/";    // every key lives under it
    // Per member asked: connect, send, answer. While the members elect a leader a request is
    // tried again, for up to twice this in all.
    Millis timeout{2000};
    // TLS to etcd (https endpoints): the CA that signed the members' certificates (empty: the
    // system store), and a client certificate when etcd asks for one.
    std::filesystem::path ca_file, certificate_file, private_key_file;
    bool operator==(const EtcdOptions&) const = default;
};

// Where a core keeps rules, web-proxy settings, admin accounts, TURN credentials and the audit
// log: its own SQLite files (one core, the default) or an etcd cluster shared by every core.
enum class Backend { sqlite, etcd };
struct Config {
    Backend backend = Backend::sqlite;
    EtcdOptions etcd;  // backend etcd only
    bool operator==(const Config&) const = default;
};

class Error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// No member could answer. what(): "the cluster store is unreachable (etcd at
// http://127.0.0.1:2379, http://127.0.0.1:2380: connection refused)"; detail() is what the
// parentheses hold.
class Unavailable : public Error {
  public:
    explicit Unavailable(std::string detail);
    const std::string& detail() const { return detail_; }

  private:
    std::string detail_;
};

struct KeyValue {
    std::string key;  // relative to the prefix
    std::string value;
    std::int64_t create_revision = 0, mod_revision = 0, version = 0;
};

struct Range {
    std::vector<KeyValue> kvs;
    std::int64_t revision = 0;  // the store's revision the range was read at
    const KeyValue* find(std::string_view key) const;
};

// A local copy of one range in a file of the node's state directory, so that a node restarted
// while the whole etcd cluster is down still has what it last read (its rules, its accounts).
// The file is written whole to a temporary one and renamed: a reader finds the old copy or the
// new one. The copy is a convenience: a file that cannot be written or read is no copy.
class RangeCache {
  public:
    explicit RangeCache(std::filesystem::path file) : file_(std::move(file)) {}
    // Saves range unless its keys and values are those saved last.
    void save(const Range& range);
    std::optional<Range> load() const;
    const std::filesystem::path& file() const { return file_; }

  private:
    std::filesystem::path file_;
    std::string saved_content_;  // the keys and values saved last, as written
};

// How a range is read: at most `limit` keys (0: all), newest created first when asked.
struct RangeOptions {
    std::int64_t limit = 0;
    bool newest_first = false;  // sorted by create_revision, descending
};

// One condition of a transaction, on one key or (prefix) on every key under it. A missing key
// compares as version, create_revision and mod_revision 0.
struct Compare {
    enum class Target { version, create_revision, mod_revision, value };
    enum class Result { equal, not_equal, greater, less };
    std::string key;
    bool prefix = false;
    Target target = Target::mod_revision;
    Result result = Result::equal;
    std::int64_t number = 0;
    std::string value;

    static Compare mod_revision_is(std::string key, std::int64_t revision) {
        return {std::move(key), false, Target::mod_revision, Result::equal, revision, {}};
    }
    // True when no key under the prefix exists.
    static Compare none_under(std::string prefix) {
        return {std::move(prefix), true, Target::create_revision, Result::equal, 0, {}};
    }
};

struct Operation {
    enum class Kind { put, erase, erase_prefix };
    Kind kind = Kind::put;
    std::string key, value;
    static Operation put(std::string key, std::string value) {
        return {Kind::put, std::move(key), std::move(value)};
    }
    static Operation erase(std::string key) { return {Kind::erase, std::move(key), {}}; }
};

struct TxnResult {
    bool succeeded = false;
    std::int64_t revision = 0;  // the store's revision after it
};

// Not thread-safe: one owner thread per client. It keeps one connection to the member that
// answered last and moves to the next on a connection error, a timeout or a member without a
// leader; only when every member failed does a request throw Unavailable. A write whose answer
// was lost may have been applied: callers make writes revision-checked transactions, so that a
// repeated one fails its comparison instead of applying twice.
class Client {
  public:
    explicit Client(EtcdOptions options);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    Range get(std::string_view key);
    Range get_prefix(std::string_view prefix, const RangeOptions& options = {});
    // -> revision. With a lease, the key goes when the lease ends.
    std::int64_t put(std::string_view key, std::string_view value, std::int64_t lease = 0);
    bool erase(std::string_view key);  // false: there was none
    TxnResult txn(const std::vector<Compare>& compares, const std::vector<Operation>& success,
                  const std::vector<Operation>& failure = {});

    // Leases: the keys put with one go when it is revoked, or when it was not kept alive for
    // its time to live (etcd rounds it to whole seconds, at least one).
    std::int64_t grant_lease(Millis ttl);  // -> the lease's id
    // False when the lease is gone (expired or revoked): its keys are gone too.
    bool keep_alive(std::int64_t lease);
    // A lease that is gone already is not an error.
    void revoke_lease(std::int64_t lease);

    const EtcdOptions& options() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// What one member says of itself (POST /v3/maintenance/status).
struct MemberStatus {
    std::string url;            // the endpoint as configured
    bool healthy = false;       // it answered and has a leader
    bool leader = false;        // it is the leader
    std::int64_t revision = 0;  // its store's revision
    std::string version;        // etcd's, "3.4.23"
    std::string error;          // why it is not healthy: "connection refused", its alarms
};
// Asks every configured member at once, each within the timeout; a member that fails is
// reported so, never thrown. In the configured order.
std::vector<MemberStatus> member_status(const EtcdOptions& options);

struct WatchEvent {
    enum class Type { put, erase };
    Type type = Type::put;
    KeyValue kv;  // an erase carries the key and its mod_revision only
};

// Follows every change under a prefix, on a thread of its own, from a revision on. When the
// stream breaks (a member stopped, lost its leader) it reconnects to the next member and goes
// on from the last revision it delivered, so no change is missed or repeated; when that
// revision has been compacted away it reads everything under the prefix again and hands it to
// `reset` instead. Handlers run on the watch's thread.
class Watch {
  public:
    struct Handlers {
        std::function<void(const std::vector<WatchEvent>& events, std::int64_t revision)> events;
        std::function<void(const Range& everything)> reset;
        // The stream is (again) set up: every change after the last delivered one will come.
        std::function<void()> connected;
        // The stream broke or could not be set up (once per outage, not per retry).
        std::function<void(const std::string& problem)> lost;
    };
    // from_revision 0: from now on.
    Watch(EtcdOptions options, std::string prefix, std::int64_t from_revision, Handlers handlers);
    ~Watch();  // stops the thread
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// "etcd at http://127.0.0.1:2379, http://127.0.0.1:2380", for messages.
std::string describe(const EtcdOptions& options);
// The end of the key range of a prefix (the prefix with its last byte raised), as etcd wants.
std::string prefix_end(std::string_view prefix);

}  // namespace edgeway::state
