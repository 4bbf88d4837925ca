// The appliance under test, on loopback: the lab PKI, the demo web bridge, an edge and a core
// (real processes of the edgeway binary), each with its own config file and log in a TempDir,
// every port picked by the kernel and read back from the logs.
#pragma once

#include "tests/support/child_process.hpp"
#include "tests/support/link_relay.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/tls_client.hpp"

#include "tls/tls.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>

namespace edgeway::test {

using json = nlohmann::json;

enum class Upstream {
    demo,         // the demo web bridge, trusted through the lab CA
    closed_port,  // resolve points at a port nobody listens on
    untrusted,    // the demo web bridge, but the core trusts only a rogue CA
};

struct ApplianceOptions {
    bool start_webbridge = true;
    // Demo web bridges behind the join host (the lab resolver lists each, in order).
    std::size_t webbridges = 1;
    // Further addresses the lab resolver lists for the join host, after the web bridges.
    std::vector<std::string> extra_targets;
    bool start_core = true;
    bool via_relay = false;  // the core dials a LinkRelay in front of the edge's link port
    Upstream upstream = Upstream::demo;
    json edge_patch = json::object();  // RFC 7386 merge patches over the default configs
    json core_patch = json::object();
    Millis startup_timeout = 15000ms;
};

class Appliance {
  public:
    explicit Appliance(ApplianceOptions options = {});
    ~Appliance();
    Appliance(const Appliance&) = delete;
    Appliance& operator=(const Appliance&) = delete;

    const TempDir& dir() const { return dir_; }
    const tls::LabPki& pki() const { return pki_; }
    std::filesystem::path ca_file() const { return pki_.ca_cert(); }
    std::uint16_t https_port() const { return https_port_; }
    std::uint16_t redirect_port() const { return redirect_port_; }
    std::uint16_t link_port() const { return link_port_; }
    std::uint16_t webbridge_port(std::size_t index = 0) const { return webbridge_ports_.at(index); }
    // The lab resolver's entry for a web bridge: "127.0.0.1:port".
    std::string webbridge_address(std::size_t index = 0) const;
    // A client target for the edge's HTTPS port trusting the lab CA.
    TlsTarget target() const;
    // A client target for the edge's link port (no client certificate set).
    TlsTarget link_target() const;

    ChildProcess& edge() { return *edge_; }
    ChildProcess& core() { return *core_; }
    ChildProcess& webbridge(std::size_t index = 0) { return *webbridges_.at(index); }
    // SIGTERM to one web bridge; returns its exit code. Its port stays its own.
    int stop_webbridge(std::size_t index);
    // A web bridge (again) on its port, with a new process and log; waits until it listens.
    void start_webbridge(std::size_t index);
    bool has_core() const { return core_ != nullptr; }
    LinkRelay& relay() { return *relay_; }

    const json& edge_config() const { return edge_config_; }
    std::filesystem::path edge_config_file() const { return dir_ / "edge.json"; }
    json core_config() const;
    json core_config(bool via_relay) const;
    // The file the running core was started with (rewrite it and send SIGHUP to reload).
    std::filesystem::path core_config_file() const {
        return dir_ / ("core-" + std::to_string(core_generation_) + ".json");
    }

    // Starts a core (a new process and log) and waits for the next "link up" on both ends.
    void start_core();
    // Starts another core beside the fixture's own, with a state directory of its own (name
    // names its files): its config is core_config() with the link straight to the edge (or via
    // the relay) and patch merged in. Waits until it is linked and the edge holds its allow
    // list version.
    std::unique_ptr<ChildProcess> launch_core(const std::string& name, const json& patch = {},
                                              bool via_relay = false);
    // SIGTERM; returns the exit code.
    int stop_core();
    void restart_core() {
        stop_core();
        start_core();
    }
    // Waits until the edge has logged `edge_count` "link up" lines in total and the current core
    // `core_count`.
    void wait_link_up(std::size_t edge_count, std::size_t core_count, Millis timeout = 15000ms);
    std::size_t edge_links_up() { return edge_->log().count(kEdgeLinkUp); }

    static constexpr const char* kEdgeLinkUp = R"(link up from 127\.0\.0\.1:\d+)";
    static constexpr const char* kCoreLinkUp = R"(link up to )";
    static constexpr const char* kEdgeRulesApplied = R"(allow list version \d+ applied)";
    static constexpr const char* kCoreRulesCurrent =
        R"(join URLs checked at start-up: allow list version (\d+) is current)";

  private:
    json resolve_entry() const;
    // Waits until the edge has applied the allow list version core says is current.
    void wait_rules_current(ChildProcess& core);

    ApplianceOptions options_;
    TempDir dir_;
    tls::LabPki pki_;
    std::filesystem::path webbridge_ca_;
    int closed_port_fd_ = -1;
    std::uint16_t https_port_ = 0, redirect_port_ = 0, link_port_ = 0;
    std::vector<std::uint16_t> webbridge_ports_;
    std::vector<int> webbridge_starts_;  // per web bridge, how often it was started
    json edge_config_;
    std::vector<std::unique_ptr<ChildProcess>> webbridges_;
    std::unique_ptr<ChildProcess> edge_, core_;
    std::unique_ptr<LinkRelay> relay_;
    int core_generation_ = 0;
};

// The edge configuration the fixture starts with: every port 0, the lab PKI's certificates,
// join host localhost.
json default_edge_config(const tls::LabPki& pki);

// The port in a "... listening on 127.0.0.1:(\d+)" log match.
std::uint16_t port_of(const LogMatch& match);

// Writes JSON to a file (pretty-printed).
void write_json(const std::filesystem::path& file, const json& value);

// A port on 127.0.0.1 that is bound but not listening (connections are refused) while fd is open.
std::uint16_t reserve_closed_port(int& fd);

}  // namespace edgeway::test
