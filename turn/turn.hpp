// Public interface of the TURN relay (RFC 8656 over STUN, RFC 8489): the server the edge runs on
// 3478 UDP and TCP with its relay ports, its local credential database (DIR/turn.db), and the
// `edgeway turn` command. Everything else in turn/ is private to the library.
#pragma once

#include "common/log.hpp"
#include "common/telemetry.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace edgeway::turn {

using Millis = std::chrono::milliseconds;

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
    std::filesystem::path state_directory;  // turn.db lives here
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

// The relay. It runs on its own io_context thread: every socket, allocation and the credential
// store are used on that thread only, without locks; allocations() asks that thread.
class Server {
  public:
    Server(std::shared_ptr<const Config> config, Logger& log);
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

// The local credential database, for the admin API (each call opens DIR/turn.db; throws
// std::runtime_error with a message for the operator).
struct User {
    std::string name, realm, created_at, changed_at;
};
void set_user(const std::filesystem::path& state_directory, const std::string& name,
              const std::string& realm, const std::string& password);
bool remove_user(const std::filesystem::path& state_directory, const std::string& name);
std::vector<User> list_users(const std::filesystem::path& state_directory);
// For `edgeway backup` and `edgeway restore`: opens and migrates the credential database
// `file`, reads every user's key and returns a summary ("2 TURN users, no REST API secret").
// Throws std::runtime_error naming the file when it is not a credential database.
std::string describe_credential_database(const std::filesystem::path& file);

// What `edgeway turn` needs from an edge configuration file.
struct CliSettings {
    std::filesystem::path state_directory;
    std::string realm;
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
