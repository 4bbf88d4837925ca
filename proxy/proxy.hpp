// Public interface of the proxy library: the edge (DMZ side), the core (inside, dials the edge)
// and their configuration. Everything else in proxy/ is private to it.
#pragma once

#include "common/log.hpp"
#include "common/telemetry.hpp"
#include "state/state.hpp"
#include "turn/turn.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace edgeway::proxy {

using Millis = std::chrono::milliseconds;

// A configuration file that cannot be used. what() names the file, the field and what was
// expected: `edge.json: field "limits.max_header_bytes": expected a positive integer`.
class ConfigError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Keepalive and reconnect timing of the traversal link (both sides).
struct LinkTiming {
    Millis ping_interval{3000};
    Millis dead_after{9000};  // no frame from the peer for this long: the link is dead
    Millis reconnect_min{250};
    Millis reconnect_max{30000};
    bool operator==(const LinkTiming&) const = default;
};

// Graceful stop (SIGTERM, `systemctl stop|restart`, `edgeway drain`): how long in-flight requests
// and WebSockets may go on before the remaining WebSockets are closed with 1012 (service
// restart) and the process exits.
struct DrainSettings {
    Millis deadline{30000};
    bool operator==(const DrainSettings&) const = default;
};

struct EdgeLimits {
    std::size_t max_header_bytes = 16 * 1024;
    std::uint64_t max_body_bytes = 1024ull * 1024 * 1024;
    Millis header_timeout{10000};     // from the first byte of a request to the end of its head
    Millis keepalive_timeout{60000};  // idle time between requests on one connection
    Millis handshake_timeout{10000};
    Millis io_timeout{60000};  // a body read or write that makes no progress for this long
    bool operator==(const EdgeLimits&) const = default;
};

// The administration listener (HTTPS, authenticated). Runs beside the role, never on its 443.
struct AdminListenerConfig {
    std::string listen = "0.0.0.0:445";
    // Required: a core has no 443 certificate and its link certificate is a client's; an edge's
    // 443 certificate is the browsers', replaced on its own.
    std::filesystem::path certificate, private_key;
    bool operator==(const AdminListenerConfig&) const = default;
};

// What a configuration reload (SIGHUP) did: the fields it applied at once, to new connections,
// streams and links (open ones keep what they started with), and the fields whose new value
// waits for a restart (the running value stays meanwhile). Field names as in the file.
struct ReloadReport {
    std::vector<std::string> applied;
    std::vector<std::string> need_restart;
    // Certificates that could not be used, with the reason: the previous ones stay in use.
    std::vector<std::string> failed;
};

struct EdgeConfig {
    std::filesystem::path source;  // the file it came from, for messages
    LogLevel log_level = LogLevel::info;
    unsigned workers = 1;
    std::string listen_https = "0.0.0.0:443";
    std::string listen_http_redirect = "0.0.0.0:80";  // empty: no redirect listener
    std::string listen_link = "0.0.0.0:7443";
    std::optional<std::uint16_t> public_https_port;  // in redirects; default: the https port
    std::filesystem::path certificate, private_key;  // browsers' side (443)
    std::filesystem::path link_certificate, link_private_key, link_client_ca;
    EdgeLimits limits;
    LinkTiming link;
    DrainSettings drain;
    std::filesystem::path state_directory = "/var/lib/edgeway/edge";  // admin.db, turn.db
    std::optional<AdminListenerConfig> admin;
    // The TURN relay beside the edge (run by the binary); absent: none.
    std::optional<turn::Config> turn;
};

struct EdgeTarget {
    std::string address;      // host:port of the edge's link listener
    std::string server_name;  // name its link certificate must carry
    bool operator==(const EdgeTarget&) const = default;
};

struct CoreConfig {
    std::filesystem::path source;
    LogLevel log_level = LogLevel::info;
    unsigned workers = 1;
    std::vector<std::string> join_urls;  // guest account client URIs: https://join.example.com/
    std::filesystem::path state_directory = "/var/lib/edgeway/core";  // allowlist.db lives here
    // How the cluster status names this core; empty: its host name and admin port.
    std::string node_name;
    // Where rules, settings, accounts and the audit log live: the state directory's SQLite
    // files (default) or an etcd cluster shared with the other cores ("state" object).
    state::Config state;
    // Lab resolver: when hosts_file or resolve is set, the core asks no DNS server. hosts_file
    // is re-read on every discovery round ("address[:port] name..." lines, # comments).
    std::filesystem::path hosts_file;
    Millis discovery_interval{30000};  // how often the join URLs are resolved again
    std::vector<EdgeTarget> edges;
    unsigned links_per_edge = 1;
    std::filesystem::path link_certificate, link_private_key, edge_ca;
    std::filesystem::path webbridge_ca;  // empty: the system store
    bool webbridge_insecure = false;     // lab switch: no web bridge certificate verification
    // Lab override of the inside DNS: host -> "addr:port" entries (several: several web bridges).
    std::map<std::string, std::vector<std::string>> resolve;
    LinkTiming link;
    DrainSettings drain;
    Millis upstream_connect_timeout{5000};
    Millis upstream_response_timeout{60000};
    // A web bridge target marked down is checked this often (a TLS connection, and a GET of
    // upstream_health_check_path when set, which must answer 2xx or 3xx) until it answers.
    Millis upstream_health_check_interval{2000};
    std::string upstream_health_check_path;  // empty: the TLS connection is the check
    // Absent from the file: no admin listener (the appliance packaging always sets it).
    std::optional<AdminListenerConfig> admin;
    // "turn": {"realm"}: the realm of the TURN users administered on this core, which it pushes
    // (with their keys, in its state) to the edges whose relays take pushed credentials.
    std::string turn_realm = "edgeway";
};

// Where a drain is, told to its observer four times a second and when it ends.
struct DrainProgress {
    Millis elapsed{0};
    Millis deadline{0};
    std::size_t requests = 0;  // in flight, WebSockets not included
    std::size_t websockets = 0;
    bool closing = false;  // past the deadline: the remaining WebSockets are being closed
    std::size_t websockets_closed = 0;  // how many were open at the deadline
    bool done = false;
};
using DrainObserver = std::function<void(const DrainProgress&)>;

// Read and validate a configuration file (JSON, comments allowed). Throws ConfigError.
EdgeConfig load_edge_config(const std::filesystem::path& file);
CoreConfig load_core_config(const std::filesystem::path& file);

// The edge: browsers' TLS listener, the port-80 redirect, and the link listener for cores.
class Edge {
  public:
    Edge(EdgeConfig config, Logger& log);
    ~Edge();
    // Binds every listener (throws std::runtime_error naming the address on failure) and starts
    // the worker threads.
    void start();
    std::uint16_t https_port() const;
    std::uint16_t redirect_port() const;  // 0 when disabled
    std::uint16_t link_port() const;
    // Graceful stop, before stop(): closes the listeners (443, 80 and the link port; behind DNS
    // or a load balancer the other edges take the new connections), closes idle keep-alive
    // connections, answers the requests in flight with `Connection: close` and lets them
    // finish until the deadline; then closes the WebSockets still open with 1012 (service
    // restart). Returns when nothing is left, logging its progress.
    DrainProgress drain(Millis deadline, const DrainObserver& observer = {});
    // From any thread, while drain() runs: go to the deadline now (a second stop signal).
    void hurry_drain();
    // Stops accepting, closes links and connections, joins the worker threads.
    void stop();

    // Re-reads the certificate, key and CA files of the 443 and link listeners (SIGHUP,
    // `systemctl reload`, a certificate uploaded in the admin page); new connections use them,
    // open ones keep theirs. Throws std::runtime_error naming the file when one cannot be used
    // (nothing changes then).
    void reload_certificates();
    // Takes a new configuration (SIGHUP): certificates (re-read even when their paths are the
    // same), limits, link timing, the redirect's public port and the log level apply to new
    // connections and links at once; listen addresses, workers and the state directory wait
    // for a restart. A listener's certificate that cannot be used keeps the previous one in use
    // (ReloadReport::failed says why).
    ReloadReport reload(EdgeConfig next);
    // One row per core connected, and per core whose link went down (until it is back).
    std::vector<telemetry::LinkStatus> links() const;
    const telemetry::RequestLog& requests() const;
    // Where the cores' TURN credential sets go, for the relay: null unless the configuration's
    // relay takes pushed credentials ("turn": {"credentials": "pushed"}).
    std::shared_ptr<const turn::PushedCredentials> turn_credentials() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The core: keeps links to every configured edge and forwards their streams to the web bridge.
class Core {
  public:
    Core(CoreConfig config, Logger& log);
    ~Core();
    // Starts the links and the allow-list service. Link or web bridge certificates that cannot
    // be used (say the edges' CA is not there yet on a new appliance) do not stop it: they are
    // logged, the links show why they are not dialled, and requests get 502, until a reload or
    // an upload in the admin page brings usable ones.
    void start();
    // Graceful stop, before stop(): a GOAWAY on every link (a shutdown notice first, so that
    // requests racing it are not refused; the edges then open no stream on this core's links
    // and use other cores'), no more redials; the requests and WebSockets in flight go on until
    // the deadline; then the WebSockets still open are closed with 1012 (service restart) both
    // ways, and the links are closed. Returns when nothing is left, logging its progress.
    DrainProgress drain(Millis deadline, const DrainObserver& observer = {});
    // From any thread, while drain() runs: go to the deadline now (a second stop signal).
    void hurry_drain();
    void stop();

    // Takes a new configuration (SIGHUP): the link and web bridge certificates (re-read),
    // the edges (links to new edges are dialled, links to removed ones closed), links per edge,
    // the join URLs, the lab resolver, discovery, link and upstream timing and the log level
    // apply at once; open streams keep going. Workers and the state directory wait for a
    // restart. Certificates that cannot be used keep the previous ones (ReloadReport::failed).
    ReloadReport reload(CoreConfig next);
    // Re-read the link certificate, key and edge CA, or the web bridge CA, for new links or
    // upstream connections (a certificate uploaded in the admin page). Throw std::runtime_error
    // naming the file when it cannot be used (nothing changes then).
    void reload_link_certificates();
    void reload_webbridge_ca();

    // One row per link the core keeps (each configured edge, links_per_edge times).
    std::vector<telemetry::LinkStatus> links() const;
    // The requests that came over the links: forwarded, or refused by the core's own check.
    const telemetry::RequestLog& requests() const;
    // Every web bridge target connected to so far: Up / Down (since, why), requests answered.
    std::vector<telemetry::UpstreamTarget> upstream_targets() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace edgeway::proxy
