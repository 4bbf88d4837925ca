#include "tests/support/appliance.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>

namespace edgeway::test {

std::uint16_t port_of(const LogMatch& match) {
    return static_cast<std::uint16_t>(std::stoul(match[1]));
}

json default_edge_config(const tls::LabPki& pki) {
    return {
        {"log_level", "info"},
        {"workers", 1},
        {"listen",
         {{"https", "127.0.0.1:0"}, {"http_redirect", "127.0.0.1:0"}, {"link", "127.0.0.1:0"}}},
        {"tls",
         {{"certificate", pki.edge_cert().string()}, {"private_key", pki.edge_key().string()}}},
        {"link_tls",
         {{"certificate", pki.link_cert().string()},
          {"private_key", pki.link_key().string()},
          {"client_ca", pki.ca_cert().string()}}},
        {"limits",
         {{"max_header_bytes", 16384},
          {"max_body_bytes", 1073741824},
          {"header_timeout_ms", 10000},
          {"keepalive_timeout_ms", 60000}}},
        {"link", {{"ping_interval_ms", 3000}, {"dead_after_ms", 9000}}},
    };
}

void write_json(const std::filesystem::path& file, const json& value) {
    std::ofstream out(file, std::ios::trunc);
    out << value.dump(2) << "\n";
    if (!out) throw std::runtime_error("cannot write " + file.string());
}

std::uint16_t reserve_closed_port(int& fd) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("socket failed");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof address;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        throw std::runtime_error("cannot reserve a port");
    }
    return ntohs(address.sin_port);
}

Appliance::Appliance(ApplianceOptions options)
    : options_(std::move(options)),
      dir_("edgeway-e2e"),
      pki_(tls::ensure_lab_pki(dir_ / "pki", {})) {
    const auto binary = edgeway_binary().string();
    const auto timeout = options_.startup_timeout;

    webbridge_ca_ = pki_.ca_cert();
    if (options_.upstream == Upstream::untrusted) {
        webbridge_ca_ = dir_ / "rogue-ca.pem";
        tls::write_ca(webbridge_ca_, dir_ / "rogue-ca.key", "Rogue Test CA");
    }

    if (options_.upstream == Upstream::closed_port) {
        webbridge_ports_.push_back(reserve_closed_port(closed_port_fd_));
    } else if (options_.start_webbridge) {
        const std::size_t count = std::max<std::size_t>(1, options_.webbridges);
        webbridge_ports_.assign(count, 0);
        webbridge_starts_.assign(count, 0);
        webbridges_.resize(count);
        for (std::size_t i = 0; i < count; ++i) start_webbridge(i);
    } else {
        webbridge_ports_.push_back(0);
    }

    edge_config_ = default_edge_config(pki_);
    // Its own, so that the pid file `edgeway drain` finds it by stays in the test's directory.
    edge_config_["state_directory"] = (dir_ / "edge-state").string();
    std::filesystem::create_directories(dir_ / "edge-state");
    edge_config_.merge_patch(options_.edge_patch);
    write_json(dir_ / "edge.json", edge_config_);
    edge_ = std::make_unique<ChildProcess>(
        "edge", binary, std::vector<std::string>{"edge", "--config", (dir_ / "edge.json").string()},
        dir_ / "edge.log");
    https_port_ = port_of(edge_->require_log(R"(https listening on 127\.0\.0\.1:(\d+))", timeout));
    link_port_ = port_of(edge_->require_log(R"(link listening on 127\.0\.0\.1:(\d+))", timeout));
    redirect_port_ =
        port_of(edge_->require_log(R"(redirect listening on 127\.0\.0\.1:(\d+))", timeout));

    if (options_.via_relay) relay_ = std::make_unique<LinkRelay>(link_port_);
    if (options_.start_core) start_core();
}

Appliance::~Appliance() {
    // Core first, so the edge does not log a link failure as the last thing before it stops.
    core_.reset();
    relay_.reset();
    edge_.reset();
    webbridges_.clear();
    if (closed_port_fd_ >= 0) ::close(closed_port_fd_);
}

TlsTarget Appliance::target() const {
    TlsTarget target;
    target.port = https_port_;
    target.ca_file = pki_.ca_cert();
    return target;
}

TlsTarget Appliance::link_target() const {
    TlsTarget target;
    target.port = link_port_;
    target.ca_file = pki_.ca_cert();
    target.alpn = {"h2"};
    return target;
}

std::string Appliance::webbridge_address(std::size_t index) const {
    return "127.0.0.1:" + std::to_string(webbridge_port(index));
}

json Appliance::resolve_entry() const {
    std::vector<std::string> targets;
    for (std::size_t i = 0; i < webbridge_ports_.size(); ++i)
        targets.push_back(webbridge_address(i));
    targets.insert(targets.end(), options_.extra_targets.begin(), options_.extra_targets.end());
    if (targets.size() == 1) return targets.front();  // the form most sites write
    return targets;
}

void Appliance::start_webbridge(std::size_t index) {
    const std::string name = index == 0 ? "webbridge" : "webbridge-" + std::to_string(index + 1);
    const int start = webbridge_starts_.at(index)++;
    const std::string log = start == 0 ? name : name + "-" + std::to_string(start + 1);
    const std::uint16_t port = webbridge_ports_.at(index);  // 0 the first time: the kernel's
    webbridges_.at(index).reset();
    webbridges_.at(index) = std::make_unique<ChildProcess>(
        log, edgeway_binary(),
        std::vector<std::string>{"webbridge-demo", "--listen", "127.0.0.1:" + std::to_string(port),
                                 "--cert", pki_.webbridge_cert().string(), "--key",
                                 pki_.webbridge_key().string()},
        dir_ / (log + ".log"));
    webbridge_ports_.at(index) = port_of(webbridges_.at(index)->require_log(
        R"(listening on 127\.0\.0\.1:(\d+))", options_.startup_timeout));
}

int Appliance::stop_webbridge(std::size_t index) {
    return webbridges_.at(index)->terminate();
}

json Appliance::core_config() const {
    return core_config(relay_ != nullptr);
}

json Appliance::core_config(bool via_relay) const {
    const auto link_address =
        "127.0.0.1:" + std::to_string(via_relay && relay_ ? relay_->port() : link_port_);
    json config = {
        {"log_level", "info"},
        {"workers", 1},
        // Split horizon, as on a real site: the join URL names the edge (its port here), and
        // the core's lab resolver sends that name to the web bridge.
        {"join_url", "https://localhost:" + std::to_string(https_port_) + "/"},
        {"state_directory", (dir_ / "core-state").string()},
        {"edges", json::array({{{"address", link_address}, {"server_name", "localhost"}}})},
        {"links_per_edge", 1},
        {"link_tls",
         {{"certificate", pki_.core_cert().string()},
          {"private_key", pki_.core_key().string()},
          {"edge_ca", pki_.ca_cert().string()}}},
        {"webbridge_tls", {{"ca", webbridge_ca_.string()}, {"insecure_skip_verify", false}}},
        {"resolve", {{"localhost", resolve_entry()}}},
        {"link",
         {{"ping_interval_ms", 3000},
          {"dead_after_ms", 9000},
          {"reconnect_min_ms", 250},
          {"reconnect_max_ms", 2000}}},
        {"upstream", {{"connect_timeout_ms", 5000}, {"response_timeout_ms", 60000}}},
    };
    config.merge_patch(options_.core_patch);
    return config;
}

void Appliance::start_core() {
    if (core_) stop_core();
    const std::size_t edge_before = edge_links_up();
    ++core_generation_;
    const auto config_file = core_config_file();
    write_json(config_file, core_config());
    core_ = std::make_unique<ChildProcess>(
        "core-" + std::to_string(core_generation_), edgeway_binary(),
        std::vector<std::string>{"core", "--config", config_file.string()},
        dir_ / ("core-" + std::to_string(core_generation_) + ".log"));
    wait_link_up(edge_before + 1, 1, options_.startup_timeout);
    wait_rules_current(*core_);
}

std::unique_ptr<ChildProcess> Appliance::launch_core(const std::string& name, const json& patch,
                                                     bool via_relay) {
    const std::size_t edge_before = edge_links_up();
    json config = core_config(via_relay);
    config["state_directory"] = (dir_ / (name + "-state")).string();
    // A default `{}` argument is JSON null, which merge_patch would take as "replace it all".
    if (!patch.is_null()) config.merge_patch(patch);
    const auto config_file = dir_ / (name + ".json");
    write_json(config_file, config);
    auto core = std::make_unique<ChildProcess>(
        name, edgeway_binary(), std::vector<std::string>{"core", "--config", config_file.string()},
        dir_ / (name + ".log"));
    core->require_log(kCoreLinkUp, options_.startup_timeout);
    edge_->require_log(kEdgeLinkUp, options_.startup_timeout, edge_before + 1);
    wait_rules_current(*core);
    return core;
}

void Appliance::wait_rules_current(ChildProcess& core) {
    // Until its first allow list the edge refuses everything. The core first pushes what its
    // database holds, then the rules from its first DNS answers: wait for the edge to have
    // those, or a test's first request could meet the rules of a moment before. The edge logs
    // only versions it did not hold already, so the last one it logged is the one it holds.
    const std::string version = core.require_log(kCoreRulesCurrent, options_.startup_timeout)[1];
    const std::string applied = R"(allow list version (\d+) applied)";
    const bool current = wait_until(
        [&] {
            const auto all = edge_->log().find_all(applied);
            return !all.empty() && all.back()[1] == version;
        },
        options_.startup_timeout);
    if (!current)
        throw std::runtime_error("the edge did not apply allow list version " + version + " of " +
                                 core.name() + "; last lines:\n" + edge_->log_tail());
}

int Appliance::stop_core() {
    if (!core_) return 0;
    const int code = core_->terminate();
    return code;
}

void Appliance::wait_link_up(std::size_t edge_count, std::size_t core_count, Millis timeout) {
    core_->require_log(kCoreLinkUp, timeout, core_count);
    edge_->require_log(kEdgeLinkUp, timeout, edge_count);
}

}  // namespace edgeway::test
