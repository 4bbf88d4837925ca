// Public interface of the admin library: the HTTPS administration server (JSON API under
// /api/v1 and the embedded web UI), its local accounts, and the `edgeway admin` command.
// Everything else in admin/ is private to it.
#pragma once

#include "cluster/cluster.hpp"
#include "common/log.hpp"
#include "common/telemetry.hpp"
#include "state/state.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace edgeway::admin {

using Millis = std::chrono::milliseconds;

// Every phase has a timeout and every read a size limit; going over one gets a 4xx answer
// (431 head too large, 413 body too large, 408 body too slow) or, for an idle or silent
// connection, a close.
struct Limits {
    std::size_t max_header_bytes = 16 * 1024;
    std::uint64_t max_body_bytes = 64 * 1024;  // the API takes small JSON documents only
    Millis handshake_timeout{10000};
    Millis header_timeout{10000};
    Millis body_timeout{10000};
    Millis keepalive_timeout{60000};
    Millis write_timeout{10000};
    std::size_t max_connections = 128;  // further connections are closed at once
};

// What the admin server shows of, and changes in, the process it runs in. The binary wires these
// to the edge or the core; one left empty means "not on this node" (its API answers 404 and its
// page says so). Every function is called on the admin thread and must be thread-safe against
// the traffic threads.
// A TURN relay user as the relay's credential database lists it.
struct TurnUser {
    std::string name, realm, created_at, changed_at;
};

struct Hooks {
    std::string role;  // "edge" or "core", shown in the UI
    std::function<std::vector<telemetry::LinkStatus>()> links;
    // A core's view of its cluster: the store's health, every core's record (/status/cluster).
    std::function<cluster::View()> cluster;
    std::function<std::vector<telemetry::RelayAllocation>()> relay;  // the edge's TURN relay
    // The core's web bridge targets and their health, shown with what the join URLs resolved
    // to (/api/v1/status/targets).
    std::function<std::vector<telemetry::UpstreamTarget>()> upstream_targets;
    const telemetry::RequestLog* requests = nullptr;
    // The TURN users (an edge whose relay has local credentials, or a core, which pushes them to
    // its edges). set_turn_user creates or changes one;
    // remove_turn_user is false when there is none. They throw std::runtime_error with a
    // message for the operator.
    std::function<std::vector<TurnUser>()> turn_users;
    std::function<void(const std::string& name, const std::string& password)> set_turn_user;
    std::function<bool(const std::string& name)> remove_turn_user;
};

// A certificate of the node's the admin page shows and replaces, besides its own (445): an
// edge's 443 certificate, a link certificate, the CA a link peer's certificate must chain to.
struct CertificateSlot {
    std::string name;     // in the API's path: "https", "link", "link_ca", "webbridge_ca"
    std::string purpose;  // for the operator: "browsers (443)"
    std::filesystem::path certificate;
    std::filesystem::path private_key;  // empty: a CA, the certificate alone
    // Makes the node use the files as they are now, for new connections (open ones keep what
    // they have). Throws std::runtime_error with a message for the operator; the previous
    // files are put back then.
    std::function<void()> reload;
    bool names_join_hosts = false;  // must name every join URL host (browsers check it)
};

struct ServerConfig {
    std::string listen = "0.0.0.0:445";              // the default; an address set in the API wins
    std::filesystem::path certificate, private_key;  // PEM
    std::filesystem::path state_directory;           // admin.db lives here
    // The core's rule database (allowlist.db). Empty: no allow-list or web-proxy API (an edge).
    std::filesystem::path rule_database;
    // Where accounts, the audit log and (with rule_database) the rules live: the files above,
    // or a core's etcd cluster. While etcd is unreachable every change answers 503 naming the
    // cause and changes nothing; pages, logins and reads go on with what was last read.
    state::Config state;
    // The configuration file's guest account client URIs: the web proxy's settings until an
    // operator changes them through the API.
    std::vector<std::string> join_urls;
    // The node's other certificates the page shows and replaces.
    std::vector<CertificateSlot> certificates;
    Limits limits;
    Hooks hooks;
};

// The accounts database's file name inside the state directory.
constexpr const char* kAccountDatabaseFile = "admin.db";
// With the accounts in etcd: the copy of those the node last read from it, beside it.
constexpr const char* kAccountCacheFile = "accounts-etcd-copy.json";
constexpr std::size_t kMinPasswordLength = 12;
constexpr const char* kFirstAccount = "admin";

// The administration server. It runs on its own io_context thread, so a slow scrypt hash or a
// SQLite write never delays the traffic on 443; every request is handled on that one thread,
// which owns the account store, the sessions and the rule store without locks.
class Server {
  public:
    Server(ServerConfig config, Logger& log);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Opens the databases (creating the first account, with a random password that is logged
    // once, when there is none), binds the listener (throws std::runtime_error naming the
    // address) and starts the thread. Logs "admin listening on ADDRESS:PORT".
    void start();
    std::uint16_t port() const;
    // The password generated on this first start, for the demo to print; empty otherwise.
    const std::optional<std::string>& first_start_password() const;
    // Stops accepting, drops open connections and joins the thread.
    void stop();
    // Re-reads the admin certificate and key files (SIGHUP) for new connections; open ones keep
    // theirs. Throws std::runtime_error naming the file when one cannot be used (nothing
    // changes then).
    void reload_certificate();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Creates the account kFirstAccount with a random password when the node has no account
// (DIR/admin.db, or the cluster's etcd) (a node's first start, or `edgeway init`) and returns
// that password, which is stored only as a hash; nothing when an account exists. Throws
// std::runtime_error naming the database.
std::optional<std::string> create_first_account(const std::filesystem::path& state_directory,
                                                const state::Config& state = {});

// Sets (creating the account if needed) a password in DIR/admin.db or the cluster's etcd.
// Throws std::runtime_error with a message for the operator (too short, database error,
// state::Unavailable).
void set_password(const std::filesystem::path& state_directory, const state::Config& state,
                  const std::string& user, const std::string& password);

// The accounts database, for `edgeway backup` and `edgeway restore`. describe_account_database
// opens and migrates `file`, reads the accounts, settings and audit log, and returns a summary
// ("2 accounts: admin, alice"); audit_restore writes the audit entry of a restore into it. Both
// throw std::runtime_error naming the file when it is not an account database.
std::string describe_account_database(const std::filesystem::path& file);
void audit_restore(const std::filesystem::path& file, const std::string& who,
                   const std::string& detail);

// Where a node keeps its state, as its configuration file says.
struct StateLocation {
    std::filesystem::path directory;
    state::Config state;
};

// `edgeway admin passwd USER [--state-dir DIR | --config FILE]`. state_of reads a node
// configuration file's state directory and backend (throws with a message naming the field).
// Returns the exit code: 0 done, 1 database error (or the cluster store unreachable), 2
// invalid input.
int run_admin_command(const std::vector<std::string>& args,
                      const std::function<StateLocation(const std::filesystem::path&)>& state_of,
                      std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace edgeway::admin
