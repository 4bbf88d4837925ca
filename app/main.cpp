// The edgeway binary: one subcommand per role. Each does little more than read its options,
// build the library objects and wait for a signal.
#include "admin/admin.hpp"
#include "allowlist/allowlist.hpp"
#include "app/allowlist_cli.hpp"
#include "app/backup_cli.hpp"
#include "app/cluster_member.hpp"
#include "app/drain_command.hpp"
#include "app/drain_files.hpp"
#include "app/init_command.hpp"
#include "app/service_notify.hpp"
#include "app/state_owner.hpp"
#include "app/webbridge_demo.hpp"
#include "cluster/cluster.hpp"
#include "common/cli_exit.hpp"
#include "common/log.hpp"
#include "proxy/proxy.hpp"
#include "tls/tls.hpp"
#include "turn/turn.hpp"

#include <fmt/format.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

namespace {

using namespace edgeway;
namespace fs = std::filesystem;

constexpr const char* kUsage = R"(usage: edgeway <command> [options]

Commands:
  edge --config FILE     run the edge (DMZ): TLS for browsers, redirect, link listener
  core --config FILE     run the core (inside): dials the edges, forwards to the web bridge
  init --config FILE     prepare a node's first start: certificates, state, first admin account
  demo [options]         edge + core + demo web bridge on localhost, in one process
  webbridge-demo [opts]  the demo web bridge alone
  pki --dir DIR [--host NAME]...
                         create a lab PKI (CA, edge, link, core and web bridge certificates)
  drain --config FILE [--deadline SECONDS]
                         drain the edge or core running with FILE and wait until it exits
  allowlist COMMAND      show, edit, import, export and test the core's allow list
  admin passwd USER      set a local admin account's password
  turn user add|remove|list, turn secret set|clear
                         TURN relay credentials (an edge's own, or a core's, pushed to edges)
  backup FILE            save this node's state (databases, configuration, certificates)
  restore FILE           verify a backup, then put this node's state back from it

Run 'edgeway <command> --help' for a command's options; 'edgeway --version' prints the version.
)";

constexpr const char* kEdgeUsage = R"(usage: edgeway edge --config FILE

Runs the edge. FILE is JSON (comments allowed); see packaging/edge.example.json.
A bad file or field stops start-up with a message naming both, and exit code 2.
SIGHUP (systemctl reload) reads FILE again: certificates, limits, link timing and the log level
apply to new connections at once, open ones are kept; listen addresses, workers, the state
directory, the admin listener and the TURN relay wait for a restart (the log says which).
SIGTERM (systemctl stop or restart) drains the edge: it stops accepting, finishes the requests
in flight (answered with Connection: close), closes the WebSockets still open after
drain.deadline_ms (30 s) with 1012 (service restart), and exits 0. A second SIGTERM cuts the
drain short. `edgeway drain --config FILE` does the same and follows it.
)";

constexpr const char* kCoreUsage = R"(usage: edgeway core --config FILE

Runs the core. FILE is JSON (comments allowed); see packaging/core.example.json.
A bad file or field stops start-up with a message naming both, and exit code 2.
SIGHUP (systemctl reload) reads FILE again: certificates, edges, links per edge, join URLs, the
lab resolver, timing and the log level apply at once, open streams are kept; workers, the state
directory and the admin listener wait for a restart (the log says which).
SIGTERM (systemctl stop or restart) drains the core: a GOAWAY on every link makes the edges send
new requests to the other cores, the requests in flight finish, the WebSockets still open after
drain.deadline_ms (30 s) are closed with 1012 (service restart), and it exits 0. A second
SIGTERM cuts the drain short. `edgeway drain --config FILE` does the same and follows it.
)";

constexpr const char* kDemoUsage =
    R"(usage: edgeway demo [--state-dir DIR] [--https-port P] [--http-port P]
                   [--link-port P] [--webbridge-port P] [--admin-port P]
                   [--edge-admin-port P] [--log-level LEVEL]

Runs the demo appliance on 127.0.0.1: an edge, a core and the demo web bridge. Certificates
are created in the state directory (default ./demo-state) on first run and kept after.
Ports default to 8443 (https), 8080 (redirect), 7443 (link), 9443 (web bridge), 8445 (the
core's administration) and 8446 (the edge's); 0 picks a free port. Prints the join URL and the
admin URLs (with the admin passwords on the first run); open them in a browser (trust
DIR/pki/ca.pem, or accept the warning).
)";

constexpr const char* kPkiUsage = R"(usage: edgeway pki --dir DIR [--host NAME]...

Creates what is missing of a lab PKI in DIR: ca.pem, edge.pem (localhost, 127.0.0.1 and each
--host), link.pem, core.pem and webbridge.pem, each with its .key. For labs and tests only.
)";

bool wants_help(const std::vector<std::string>& args) {
    for (const auto& a : args)
        if (a == "--help" || a == "-h") return true;
    return false;
}

// Options as --name VALUE pairs; returns false (after a message) on anything else.
bool parse_pairs(const std::vector<std::string>& args, const std::vector<std::string>& known,
                 std::vector<std::pair<std::string, std::string>>& out) {
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (std::find(known.begin(), known.end(), args[i]) == known.end()) {
            std::cerr << "edgeway: unknown option " << args[i] << "\n";
            return false;
        }
        if (i + 1 >= args.size()) {
            std::cerr << "edgeway: " << args[i] << " needs a value\n";
            return false;
        }
        out.emplace_back(args[i], args[i + 1]);
        ++i;
    }
    return true;
}

// Catches SIGINT/SIGTERM (stop) and SIGHUP (reload: `systemctl reload`) from the moment it is
// made, so a signal that arrives while the process is still starting is not fatal: a stop
// signal simply stops it once started.
class ProcessSignals {
  public:
    ProcessSignals() : stop_(io_, SIGINT, SIGTERM), reload_(io_, SIGHUP) {}
    ~ProcessSignals() { stop_watching(); }
    ProcessSignals(const ProcessSignals&) = delete;
    ProcessSignals& operator=(const ProcessSignals&) = delete;
    // Runs until SIGINT or SIGTERM; calls on_reload at each SIGHUP meanwhile.
    void wait(std::function<void()> on_reload) {
        stop_.async_wait([this](const boost::system::error_code&, int) { io_.stop(); });
        boost::asio::co_spawn(
            io_,
            [this, on_reload = std::move(on_reload)]() -> boost::asio::awaitable<void> {
                for (;;) {
                    co_await reload_.async_wait(boost::asio::use_awaitable);
                    on_reload();
                }
            },
            boost::asio::detached);
        io_.run();
    }

    // After wait(), while the node drains: on_stop runs (on a thread of its own) at the next
    // SIGINT or SIGTERM. SIGHUP is ignored from now on: no reload while draining.
    void watch_for_second_stop(std::function<void()> on_stop) {
        boost::system::error_code ignored;
        reload_.cancel(ignored);
        io_.restart();
        stop_.async_wait([on_stop = std::move(on_stop)](const boost::system::error_code& ec, int) {
            if (!ec) on_stop();
        });
        watcher_ = std::thread([this] { io_.run(); });
    }
    void stop_watching() {
        io_.stop();
        if (watcher_.joinable()) watcher_.join();
    }

  private:
    boost::asio::io_context io_;
    boost::asio::signal_set stop_, reload_;
    std::thread watcher_;
};

// The loggers of one node: its role's, its admin server's and its relay's.
struct NodeLogs {
    explicit NodeLogs(const char* role_name, LogLevel level)
        : role(role_name, level), admin("admin", level), relay("turn", level) {}
    Logger role, admin, relay;
};

// What a reload cannot change beside the role: the admin listener and the relay are made at
// start. The admin certificate's contents are re-read; a new path for it waits like the rest.
template <typename Config>
void note_restart_only(const Config& started, const Config& next, proxy::ReloadReport& report) {
    const auto& a = started.admin;
    const auto& b = next.admin;
    if (a.has_value() != b.has_value())
        report.need_restart.emplace_back("admin");
    else if (a && a->listen != b->listen)
        report.need_restart.emplace_back("admin.listen");
    else if (a && (a->certificate != b->certificate || a->private_key != b->private_key))
        report.need_restart.emplace_back("admin.certificate");
    if constexpr (requires { next.turn; })
        if (started.turn != next.turn) report.need_restart.emplace_back("turn");
}

std::string describe(const proxy::ReloadReport& report) {
    std::string text = report.applied.empty()
                           ? std::string("no setting changed")
                           : fmt::format("applied {}", fmt::join(report.applied, ", "));
    if (!report.need_restart.empty())
        text += fmt::format("; waiting for a restart: {}", fmt::join(report.need_restart, ", "));
    return text + " (certificates re-read)";
}

// SIGHUP on an edge or a core: the file again. What can change while running is applied to new
// connections, streams and links; the rest is logged as waiting for a restart; a file that
// cannot be used is logged and changes nothing.
// Returns the configuration applied, or nothing when the reload changed nothing.
template <typename Role, typename Config>
std::optional<Config> reload_node(Role& role, admin::Server* admin, const Config& started,
                                  const fs::path& file, Config (*load)(const fs::path&),
                                  NodeLogs& logs) {
    Logger& log = logs.role;
    Config next;
    try {
        next = load(file);
    } catch (const proxy::ConfigError& e) {
        log.error("reload refused, nothing changed: {}", e.what());
        return std::nullopt;
    }
    proxy::ReloadReport report;
    try {
        report = role.reload(next);
    } catch (const std::exception& e) {
        log.error("reload failed, nothing changed: {}", e.what());
        return std::nullopt;
    }
    logs.admin.set_level(next.log_level);
    logs.relay.set_level(next.log_level);
    for (const auto& failure : report.failed)
        log.error("reload: {}; the previous ones stay in use", failure);
    note_restart_only(started, next, report);
    if (admin) try {
            admin->reload_certificate();
        } catch (const std::exception& e) {
            log.error("reload: the admin certificate cannot be used, the previous one stays: {}",
                      e.what());
        }
    log.info("configuration reloaded from {}: {}", file.string(), describe(report));
    return next;
}

admin::ServerConfig admin_config(const proxy::AdminListenerConfig& listener,
                                 const fs::path& state_directory) {
    admin::ServerConfig server;  // the node's own files (an edge; a core may add etcd)
    server.listen = listener.listen;
    server.certificate = listener.certificate;
    server.private_key = listener.private_key;
    server.state_directory = state_directory;
    return server;
}

// The TURN relay beside an edge whose configuration has a "turn" object (with the credentials
// its cores push, when it says so); null otherwise.
std::unique_ptr<turn::Server> make_relay(const proxy::EdgeConfig& config, proxy::Edge& edge,
                                         Logger& log) {
    if (!config.turn) return nullptr;
    return std::make_unique<turn::Server>(std::make_shared<const turn::Config>(*config.turn), log,
                                          edge.turn_credentials());
}
std::unique_ptr<turn::Server> make_relay(const proxy::CoreConfig&, proxy::Core&, Logger&) {
    return nullptr;
}

// The TURN users API of an admin, on the node's credential storage: an edge relay's own
// database, or a core's (its file, or the cluster's etcd), which the core pushes to its edges.
void add_turn_hooks(admin::Hooks& hooks, const turn::CredentialLocation& where,
                    const std::string& realm) {
    hooks.turn_users = [where] {
        std::vector<admin::TurnUser> users;
        for (const auto& user : turn::list_users(where))
            users.push_back({user.name, user.realm, user.created_at, user.changed_at});
        return users;
    };
    hooks.set_turn_user = [where, realm](const std::string& name, const std::string& password) {
        turn::set_user(where, name, realm, password);
    };
    hooks.remove_turn_user = [where](const std::string& name) {
        return turn::remove_user(where, name);
    };
}

// A core's membership of its cluster (a cluster of one with SQLite); an edge has none.
std::unique_ptr<cluster::Membership> make_membership(const proxy::CoreConfig& config,
                                                     proxy::Core& core, Logger& log) {
    return std::make_unique<cluster::Membership>(
        config.state, [&core] { return core.links(); }, log);
}
std::unique_ptr<cluster::Membership> make_membership(const proxy::EdgeConfig&, proxy::Edge&,
                                                     Logger&) {
    return nullptr;
}

// The admin server beside a core whose configuration has an "admin" object; null otherwise.
std::unique_ptr<admin::Server> make_admin(const proxy::CoreConfig& config, proxy::Core& core,
                                          turn::Server*, cluster::Membership* membership,
                                          Logger& log) {
    if (!config.admin) return nullptr;
    auto server = admin_config(*config.admin, config.state_directory);
    server.rule_database = config.state_directory / allowlist::kRuleDatabaseFile;
    server.state = config.state;
    server.join_urls = config.join_urls;
    server.hooks.role = "core";
    const auto reload_link = [&core] { core.reload_link_certificates(); };
    server.certificates = {
        {"link", "traversal link (this core's client certificate)", config.link_certificate,
         config.link_private_key, reload_link},
        {"link_ca", "CA of the edges' link certificates", config.edge_ca, {}, reload_link}};
    if (!config.webbridge_ca.empty())
        server.certificates.push_back({"webbridge_ca",
                                       "CA of the web bridge's certificate",
                                       config.webbridge_ca,
                                       {},
                                       [&core] { core.reload_webbridge_ca(); }});
    server.hooks.links = [&core] { return core.links(); };
    if (membership) server.hooks.cluster = [membership] { return membership->view(); };
    server.hooks.upstream_targets = [&core] { return core.upstream_targets(); };
    server.hooks.requests = &core.requests();
    add_turn_hooks(server.hooks, {config.state_directory, config.state}, config.turn_realm);
    return std::make_unique<admin::Server>(std::move(server), log);
}

// The admin server beside an edge whose configuration has an "admin" object; null otherwise.
std::unique_ptr<admin::Server> make_admin(const proxy::EdgeConfig& config, proxy::Edge& edge,
                                          turn::Server* relay, cluster::Membership*, Logger& log) {
    if (!config.admin) return nullptr;
    auto server = admin_config(*config.admin, config.state_directory);
    const auto reload = [&edge] { edge.reload_certificates(); };
    server.certificates = {
        {"https", "browsers (443)", config.certificate, config.private_key, reload, true},
        {"link", "traversal link (this edge's side)", config.link_certificate,
         config.link_private_key, reload},
        {"link_ca", "CA of the cores' link certificates", config.link_client_ca, {}, reload}};
    server.hooks.role = "edge";
    server.hooks.links = [&edge] { return edge.links(); };
    server.hooks.requests = &edge.requests();
    if (relay) {
        server.hooks.relay = [relay] { return relay->allocations(); };
        // Pushed credentials are administered on the cores; the edge's page shows none.
        if (config.turn->credentials == turn::Credentials::local)
            add_turn_hooks(server.hooks, config.turn->state_directory, config.turn->realm);
    }
    return std::make_unique<admin::Server>(std::move(server), log);
}

// A stop signal came: the role drains (with the deadline `edgeway drain` asked for, if it did),
// reporting its progress in the state directory for `edgeway drain` to follow and to systemd.
template <typename Role>
void drain_role(Role& role, const fs::path& state_directory, proxy::Millis deadline,
                ProcessSignals& signals, Logger& log) {
    const auto requested = app::take_drain_request(state_directory);
    if (requested) deadline = *requested;
    app::notify_stopping();
    log.info("stop signal: draining, deadline {} ms{}", deadline.count(),
             requested ? " (asked for by edgeway drain)" : "");
    signals.watch_for_second_stop([&] {
        log.warn("second stop signal: the drain ends now");
        role.hurry_drain();
    });
    auto last_status = std::chrono::steady_clock::time_point();
    role.drain(deadline, [&](const proxy::DrainProgress& progress) {
        app::write_drain_status(state_directory, progress);
        const auto now = std::chrono::steady_clock::now();
        if (progress.done || now - last_status >= std::chrono::seconds(1)) {
            app::notify_status(fmt::format("draining: {} requests, {} WebSockets left",
                                           progress.requests, progress.websockets));
            last_status = now;
        }
    });
    signals.stop_watching();
}

// `edgeway edge` and `edgeway core`: read the file, start the role, run until a signal.
template <typename Role, typename Config>
int run_role(const std::vector<std::string>& args, const char* usage, const char* name,
             Config (*load)(const fs::path&)) {
    if (wants_help(args)) return std::cout << usage, 0;
    ProcessSignals signals;
    std::vector<std::pair<std::string, std::string>> options;
    if (!parse_pairs(args, {"--config"}, options) || options.empty()) {
        std::cerr << usage;
        return kExitUsage;
    }
    const fs::path file = options.back().second;
    Config config;
    try {
        config = load(file);
    } catch (const proxy::ConfigError& e) {
        std::cerr << "edgeway: " << e.what() << "\n";
        return kExitUsage;
    }
    NodeLogs logs(name, config.log_level);
    Logger& log = logs.role;
    Role role(config, log);
    auto relay = make_relay(config, role, logs.relay);
    auto membership = make_membership(config, role, log);
    auto admin = make_admin(config, role, relay.get(), membership.get(), logs.admin);
    try {
        role.start();
        if (relay) relay->start();
        if (admin) admin->start();
        if constexpr (std::is_same_v<Config, proxy::CoreConfig>)
            membership->start(app::core_identity(config, admin ? admin->port() : 0));
    } catch (const std::exception& e) {
        log.error("cannot start: {}", e.what());
        return 1;
    }
    const app::PidFile pid_file(config.state_directory, log);
    app::notify_ready(fmt::format("{} {} running", name, EDGEWAY_VERSION));
    proxy::Millis deadline = config.drain.deadline;
    signals.wait([&] {
        app::notify_reloading();
        if (auto applied = reload_node(role, admin.get(), config, file, load, logs))
            deadline = applied->drain.deadline;
        app::notify_ready(fmt::format("{} {} running", name, EDGEWAY_VERSION));
    });
    if (membership) membership->draining();
    drain_role(role, config.state_directory, deadline, signals, log);
    log.info("stopping");
    // Its record goes before its links do, so that no core counts it as lost.
    if (membership) membership->leave();
    if (admin) admin->stop();
    if (relay) relay->stop();
    role.stop();
    return 0;
}

int run_pki(const std::vector<std::string>& args) {
    if (wants_help(args)) return std::cout << kPkiUsage, 0;
    std::vector<std::pair<std::string, std::string>> options;
    if (!parse_pairs(args, {"--dir", "--host"}, options)) return kExitUsage;
    fs::path dir;
    std::vector<std::string> hosts;
    for (const auto& [name, value] : options) {
        if (name == "--dir") dir = value;
        if (name == "--host") hosts.push_back(value);
    }
    if (dir.empty()) {
        std::cerr << kPkiUsage;
        return kExitUsage;
    }
    try {
        tls::ensure_lab_pki(dir, hosts);
    } catch (const std::exception& e) {
        std::cerr << "edgeway: " << e.what() << "\n";
        return 1;
    }
    std::cout << "lab PKI in " << dir.string() << "\n";
    return 0;
}

bool parse_port(const std::string& text, std::uint16_t& port) {
    if (text.empty() || text.size() > 5 ||
        text.find_first_not_of("0123456789") != std::string::npos)
        return false;
    const unsigned long value = std::stoul(text);
    if (value > 65535) return false;
    port = static_cast<std::uint16_t>(value);
    return true;
}

int run_demo(const std::vector<std::string>& args) {
    if (wants_help(args)) return std::cout << kDemoUsage, 0;
    ProcessSignals signals;
    std::vector<std::pair<std::string, std::string>> options;
    if (!parse_pairs(args,
                     {"--state-dir", "--https-port", "--http-port", "--link-port",
                      "--webbridge-port", "--admin-port", "--edge-admin-port", "--log-level"},
                     options))
        return kExitUsage;
    fs::path state = "demo-state";
    std::uint16_t https = 8443, http = 8080, link = 7443, webbridge = 9443, admin_port = 8445,
                  edge_admin_port = 8446;
    LogLevel level = LogLevel::info;
    for (const auto& [name, value] : options) {
        bool ok = true;
        if (name == "--state-dir")
            state = value;
        else if (name == "--https-port")
            ok = parse_port(value, https);
        else if (name == "--http-port")
            ok = parse_port(value, http);
        else if (name == "--link-port")
            ok = parse_port(value, link);
        else if (name == "--webbridge-port")
            ok = parse_port(value, webbridge);
        else if (name == "--admin-port")
            ok = parse_port(value, admin_port);
        else if (name == "--edge-admin-port")
            ok = parse_port(value, edge_admin_port);
        else if (name == "--log-level")
            ok = parse_log_level(value, level);
        if (!ok) {
            std::cerr << "edgeway: " << name << ": invalid value " << value << "\n";
            return kExitUsage;
        }
    }
    Logger edge_log("edge", level), core_log("core", level), bridge_log("webbridge-demo", level),
        admin_log("admin", level), edge_admin_log("edge-admin", level);
    try {
        const auto pki = tls::ensure_lab_pki(state / "pki", {});

        boost::asio::io_context bridge_io;
        demo::WebBridge bridge(
            bridge_io,
            {fmt::format("127.0.0.1:{}", webbridge), pki.webbridge_cert(), pki.webbridge_key()},
            bridge_log);
        bridge.start();
        std::thread bridge_thread([&] { bridge_io.run(); });

        proxy::EdgeConfig edge_config;
        edge_config.source = "(demo)";
        edge_config.log_level = level;
        edge_config.listen_https = fmt::format("127.0.0.1:{}", https);
        edge_config.listen_http_redirect = fmt::format("127.0.0.1:{}", http);
        edge_config.listen_link = fmt::format("127.0.0.1:{}", link);
        edge_config.certificate = pki.edge_cert();
        edge_config.private_key = pki.edge_key();
        edge_config.link_certificate = pki.link_cert();
        edge_config.link_private_key = pki.link_key();
        edge_config.link_client_ca = pki.ca_cert();
        edge_config.state_directory = state / "edge";
        // The edge's own administration (its links as it sees them, its 443 certificate).
        edge_config.admin = proxy::AdminListenerConfig{fmt::format("127.0.0.1:{}", edge_admin_port),
                                                       pki.edge_cert(), pki.edge_key()};
        proxy::Edge edge(edge_config, edge_log);
        edge.start();
        auto edge_admin = make_admin(edge_config, edge, nullptr, nullptr, edge_admin_log);
        edge_admin->start();

        proxy::CoreConfig core_config;
        core_config.source = "(demo)";
        core_config.log_level = level;
        // Split horizon as in a real site: the join URL names the edge's port, and the core's
        // lab resolver sends that name to the web bridge.
        core_config.join_urls = {fmt::format("https://localhost:{}/", edge.https_port())};
        core_config.state_directory = state / "core";
        core_config.edges = {{fmt::format("127.0.0.1:{}", edge.link_port()), "localhost"}};
        core_config.link_certificate = pki.core_cert();
        core_config.link_private_key = pki.core_key();
        core_config.edge_ca = pki.ca_cert();
        core_config.webbridge_ca = pki.ca_cert();
        core_config.resolve["localhost"] = {
            fmt::format("127.0.0.1:{}", bridge.local_endpoint().port())};
        // The core's administration, with the lab certificate for localhost.
        core_config.admin = proxy::AdminListenerConfig{fmt::format("127.0.0.1:{}", admin_port),
                                                       pki.edge_cert(), pki.edge_key()};
        proxy::Core core(core_config, core_log);
        auto membership = make_membership(core_config, core, core_log);
        auto admin = make_admin(core_config, core, nullptr, membership.get(), admin_log);
        core.start();
        admin->start();
        membership->start(app::core_identity(core_config, admin->port()));

        const auto& password = admin->first_start_password();
        const auto& edge_password = edge_admin->first_start_password();
        std::cout << "Edgeway demo appliance is running.\n"
                  << "Join URL: https://localhost:" << edge.https_port() << "/\n"
                  << "Admin:    https://localhost:" << admin->port() << "/ (user "
                  << admin::kFirstAccount << ", password "
                  << (password ? *password
                               : "as set before; change it with 'edgeway admin passwd admin "
                                 "--state-dir " +
                                     (state / "core").string() + "'")
                  << ")\n"
                  << "Edge admin: https://localhost:" << edge_admin->port() << "/ (user "
                  << admin::kFirstAccount << ", password "
                  << (edge_password ? *edge_password
                                    : "as set before; change it with 'edgeway admin passwd "
                                      "admin --state-dir " +
                                          (state / "edge").string() + "'")
                  << ")\n"
                  << "  (certificates in " << (state / "pki").string()
                  << "; trust ca.pem there, or accept the browser's warning)\n"
                  << "Press Ctrl+C to stop.\n"
                  << std::flush;
        signals.wait([&] {
            try {
                edge.reload_certificates();
            } catch (const std::exception& e) {
                edge_log.error("reload failed, the previous certificates stay in use: {}",
                               e.what());
            }
        });
        admin->stop();
        edge_admin->stop();
        core.stop();
        edge.stop();
        bridge.stop();
        bridge_io.stop();
        bridge_thread.join();
    } catch (const std::exception& e) {
        std::cerr << "edgeway demo: " << e.what() << "\n";
        return 1;
    }
    return 0;
}

// What `edgeway drain` needs from a node's configuration file (a core's names its join URLs;
// anything else is read as an edge's). Throws the core reading's ConfigError when neither fits.
app::DrainTarget drain_target(const fs::path& file) {
    try {
        const auto core = proxy::load_core_config(file);
        return {"core", core.state_directory, core.drain.deadline};
    } catch (const proxy::ConfigError& core_error) {
        try {
            const auto edge = proxy::load_edge_config(file);
            return {"edge", edge.state_directory, edge.drain.deadline};
        } catch (const proxy::ConfigError&) {
            throw core_error;
        }
    }
}

// The state directory of a core's or an edge's configuration file.
fs::path any_state_directory(const fs::path& file) {
    return drain_target(file).state_directory;
}

// Where the node of a configuration file keeps its state: an edge's is always its own files.
admin::StateLocation any_state_location(const fs::path& file) {
    try {
        const auto core = proxy::load_core_config(file);
        return {core.state_directory, core.state};
    } catch (const proxy::ConfigError&) {
        return {any_state_directory(file), {}};
    }
}

// --role's value among the arguments, or "".
std::string args_role(const std::vector<std::string>& args) {
    for (std::size_t i = 0; i + 1 < args.size(); ++i)
        if (args[i] == "--role") return args[i + 1];
    return "";
}

}  // namespace

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        std::cout << kUsage;
        return args.empty() ? kExitUsage : 0;
    }
    if (args[0] == "--version" || args[0] == "version") {
        std::cout << "edgeway " << EDGEWAY_VERSION << "\n";
        return 0;
    }
    const std::string command = args[0];
    args.erase(args.begin());
    // Started as root on an installed node, the commands that write its state run as the user
    // the services run as, so that the files they create stay the services'.
    try {
        if (command == "allowlist" || command == "admin" || command == "drain")
            app::become_owner_of(
                app::state_directory_of_args(args, "/var/lib/edgeway/core", &any_state_directory));
        else if (command == "turn")
            app::become_owner_of(
                app::state_directory_of_args(args, "/var/lib/edgeway/edge", &any_state_directory));
        else if (command == "init")
            app::become_owner_of(app::state_directory_of_args(
                args, args_role(args) == "core" ? "/var/lib/edgeway/core" : "/var/lib/edgeway/edge",
                &any_state_directory));
    } catch (const std::exception& e) {
        std::cerr << "edgeway: " << e.what() << "\n";
        return 1;
    }
    if (command == "edge")
        return run_role<proxy::Edge>(args, kEdgeUsage, "edge", &proxy::load_edge_config);
    if (command == "core")
        return run_role<proxy::Core>(args, kCoreUsage, "core", &proxy::load_core_config);
    if (command == "demo") return run_demo(args);
    if (command == "webbridge-demo") return demo::webbridge_demo_main(args);
    if (command == "pki") return run_pki(args);
    if (command == "init") return app::run_init_command(args, std::cout, std::cerr);
    if (command == "drain")
        return app::run_drain_command(args, &drain_target, std::cout, std::cerr);
    if (command == "allowlist") return app::run_allowlist_command(args, std::cout, std::cerr);
    if (command == "backup") return app::run_backup_command(args, std::cin, std::cout, std::cerr);
    if (command == "restore") return app::run_restore_command(args, std::cin, std::cout, std::cerr);
    if (command == "admin")
        return admin::run_admin_command(args, &any_state_location, std::cin, std::cout, std::cerr);
    if (command == "turn")
        return turn::run_turn_command(
            args,
            [](const fs::path& file) {
                try {
                    const auto core = proxy::load_core_config(file);
                    return turn::CliSettings{core.state_directory, core.turn_realm, core.state};
                } catch (const proxy::ConfigError&) {
                    // Not a core's: an edge's, or the edge's message says what is wrong.
                }
                const auto config = proxy::load_edge_config(file);
                return turn::CliSettings{
                    config.state_directory, config.turn ? config.turn->realm : "edgeway", {}};
            },
            std::cin, std::cout, std::cerr);
    std::cerr << "edgeway: unknown command '" << command << "'\n" << kUsage;
    return kExitUsage;
}
