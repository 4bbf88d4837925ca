// Public interface of the TURN relay (RFC 8656 over STUN, RFC 8489): the server the edge runs on
// 3478 UDP and TCP with its relay ports, its local credential database (DIR/turn.db), and the
// `edgeway turn` command. Everything else in turn/ is private to the library.
#pragma once

#include "common/log.hpp"
#include "common/telemetry.hpp"
#include "state/state.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace edgeway::turn {

using Millis = std::chrono::milliseconds;

// Where the relay's users and REST API secret come from: the edge's own database (DIR/turn.db,
// managed on the edge), or the sets the cores push over the traversal links (managed on the
// cores; the edge then keeps no credential file).
enum class Credentials { local, pushed };

struct Config {
    // "ADDRESS:PORT" each; port 0 lets the kernel pick (tests). Empty list: no listener.
    std::vector<std::string> udp_listen{"0.0.0.0:3478"};
    std::vector<std::string> tcp_listen{"0.0.0.0:3478"};
    // Where relay sockets are bound, and the range their ports come from.
    std::string relay_address = "0.0.0.0";
    std::uint16_t relay_port_min = 24000, relay_port_max = 29999;
    // The address advertised in XOR-RELAYED-ADDRESS (the edge's public address behind a NAT).
    // Empty: relay_address when it is specific, else the local address that routes to the
    // client.
    std::string external_address;
    std::string realm = "edgeway";
    Credentials credentials = Credentials::local;
    std::filesystem::path state_directory;  // turn.db lives here (local credentials)
    // CIDR ranges ("127.0.0.0/8", "10.1.2.3/32") of peers allowed although they are loopback,
    // link-local, unspecified or one of this server's own addresses (refused by default).
    std::vector<std::string> allowed_peer_ranges;

    Millis nonce_lifetime{600'000};              // then 438 Stale Nonce
    Millis default_lifetime{600'000};            // RFC 8656: allocations live at least this
    Millis max_lifetime{3'600'000};              // and at most this per Allocate/Refresh
    Millis permission_lifetime{300'000};         // RFC 8656: 5 minutes
    Millis channel_lifetime{600'000};            // RFC 8656: 10 minutes
    Millis sweep_interval{1'000};                // how often expired allocations are freed
    Millis tcp_idle_timeout{60'000};             // a TCP client without allocation sending nothing
    std::size_t max_allocations = 2000;          // beyond: 508 Insufficient Capacity
    std::size_t max_allocations_per_user = 200;  // beyond: 486 Allocation Quota Reached
    // Per allocation and per direction; packets beyond are dropped (and counted).
    std::uint32_t max_packets_per_second = 10'000;
    std::uint64_t max_bytes_per_second = 12'500'000;  // 100 Mbit/s
    std::size_t tcp_max_queued_bytes = 1 << 20;       // towards one TCP client; beyond: dropped
    std::string software = "edgeway";
    bool operator==(const Config&) const = default;
};

// The credential database's file name inside the state directory.
constexpr const char* kCredentialDatabaseFile = "turn.db";

// The credentials a core pushes to its edges: every user with its realm and long-term key
// MD5(user:realm:password) in hex (what the relay needs; never a password), and the REST API
// secret. A cluster's set (cores sharing etcd) carries the store's revision it was read at as
// its version, the same on every core; one core's set (SQLite) carries its database's counter.
struct PushedUser {
    std::string realm, key_md5;
    bool operator==(const PushedUser&) const = default;
};
struct CredentialSet {
    std::uint64_t version = 0;
    bool cluster = false;
    std::map<std::string, PushedUser> users;  // by name
    std::optional<std::string> rest_api_secret;
    // Same users and secret, whatever the version.
    bool same_credentials(const CredentialSet& other) const {
        return users == other.users && rest_api_secret == other.rest_api_secret;
    }
};
// One line of JSON, without its newline:
// {"version":N,"cluster":B,"users":[{"name","realm","key_md5"}...],"rest_api_secret":S|null}.
std::string credential_set_to_json(const CredentialSet& set);
// Throws std::invalid_argument saying what is wrong (not JSON, a field missing or of the wrong
// type, a key that is not 32 lowercase hex digits, a user twice); never quotes a key or secret.
CredentialSet credential_set_from_json(std::string_view line);
// "2 users, REST API secret set", for the log (never a key or the secret).
std::string describe(const CredentialSet& set);

// Edge: the last set a core pushed, stored by the links' feeds and read by the relay on every
// authenticated request. Thread-safe; empty until the first set (the relay then refuses every
// user), kept when every link is down.
class PushedCredentials {
  public:
    std::shared_ptr<const CredentialSet> load() const {
        return current_.load(std::memory_order_acquire);
    }
    void store(std::shared_ptr<const CredentialSet> set) {
        current_.store(std::move(set), std::memory_order_release);
    }

  private:
    std::atomic<std::shared_ptr<const CredentialSet>> current_;
};

// Core: the credentials of the core's storage (DIR/turn.db, or the cluster's etcd as its
// "state" says), read at start and again after every change made anywhere (its admin API,
// `edgeway turn`, another core: the file is polled every 200 ms, etcd watched), kept as the
// NDJSON line the feeds push to the edges. The storage is used on the publisher's thread only;
// when etcd is unreachable the last set read stays published.
class CredentialPublisher {
  public:
    CredentialPublisher(state::Config state, std::filesystem::path sqlite_file, Logger& log);
    ~CredentialPublisher();
    CredentialPublisher(const CredentialPublisher&) = delete;
    CredentialPublisher& operator=(const CredentialPublisher&) = delete;

    // Before start(): called (on the publisher's thread) after each new set is published.
    void on_publish(std::function<void()> listener);
    // Opens the storage (throws std::runtime_error naming it), publishes what it holds and
    // follows changes. An etcd cluster that does not answer yet is no error.
    void start();
    void stop();
    // The current set as one NDJSON line; null until the first read. Thread-safe.
    std::shared_ptr<const std::string> wire() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The relay. It runs on its own io_context thread: every socket, allocation and the credential
// store are used on that thread only, without locks; allocations() asks that thread.
class Server {
  public:
    // `pushed`: where an edge's feeds put the cores' sets; required when config->credentials is
    // Credentials::pushed, unused otherwise.
    Server(std::shared_ptr<const Config> config, Logger& log,
           std::shared_ptr<const PushedCredentials> pushed = nullptr);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Opens DIR/turn.db, binds the listeners (throws std::runtime_error naming the address or
    // field) and starts the thread. Logs "turn listening on udp ADDRESS:PORT" (and tcp).
    void start();
    // The bound ports, in the order of the configuration (useful with port 0).
    std::vector<std::uint16_t> udp_ports() const;
    std::vector<std::uint16_t> tcp_ports() const;
    // The allocations now, for the status page and /metrics. Thread-safe; empty when stopped.
    std::vector<telemetry::RelayAllocation> allocations() const;
    // Closes listeners, allocations and connections, and joins the thread.
    void stop();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// A node's credential storage, for the admin API and `edgeway turn`: DIR/turn.db (an edge with
// local credentials, a core with SQLite state), or the cluster's etcd (a core with etcd state).
struct CredentialLocation {
    CredentialLocation(std::filesystem::path dir, state::Config s = {})
        : state_directory(std::move(dir)), state(std::move(s)) {}
    std::filesystem::path state_directory;
    state::Config state;
    // "/var/lib/edgeway/core/turn.db", or "etcd at http://... (prefix /edgeway/)".
    std::string describe() const;
};

// Each call opens the storage; throws std::runtime_error with a message for the operator
// (state::Unavailable, changing nothing, when etcd does not answer).
struct User {
    std::string name, realm, created_at, changed_at;
};
void set_user(const CredentialLocation& where, const std::string& name, const std::string& realm,
              const std::string& password);
bool remove_user(const CredentialLocation& where, const std::string& name);
std::vector<User> list_users(const CredentialLocation& where);
void set_shared_secret(const CredentialLocation& where, const std::optional<std::string>& secret);
// For `edgeway backup` and `edgeway restore`: opens and migrates the credential database
// `file`, reads every user's key and returns a summary ("2 TURN users, no REST API secret").
// Throws std::runtime_error naming the file when it is not a credential database.
std::string describe_credential_database(const std::filesystem::path& file);

// What `edgeway turn` needs from an edge or core configuration file.
struct CliSettings {
    std::filesystem::path state_directory;
    std::string realm;
    state::Config state;  // a core's: its credentials may live in etcd
};

// `edgeway turn user add USER [--realm R] | user remove USER | user list |
//  secret set | secret clear`, with [--state-dir DIR | --config EDGE.json]. settings_of reads
// an edge configuration file (throws with a message naming the field). The password of
// `user add` is the first line of standard input, or generated and printed once with
// --generate. Returns the exit code: 0 done, 1 database error, 2 invalid input.
int run_turn_command(const std::vector<std::string>& args,
                     const std::function<CliSettings(const std::filesystem::path&)>& settings_of,
                     std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace edgeway::turn
