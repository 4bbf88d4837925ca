#include "tests/support/cluster_appliance.hpp"

#include <stdexcept>

namespace edgeway::test {

namespace {

constexpr const char* kAdminListening = R"(admin listening on 127\.0\.0\.1:(\d+))";
constexpr const char* kFirstPassword =
    R"(first start: admin account "admin" created with password: (\S+))";
const char* const kCoreNames[] = {"core-a", "core-b"};

}  // namespace

ClusterAppliance::ClusterAppliance(ClusterOptions options) {
    ApplianceOptions appliance;
    appliance.start_core = false;
    appliance.edge_patch = options.edge_patch;
    app_ = std::make_unique<Appliance>(appliance);
    etcd_ = std::make_unique<EtcdCluster>(app_->dir().path());
    if (options.etcd_down_at_start) etcd_->kill_all();

    const auto& dir = app_->dir();
    write_json(dir / "edge2.json", app_->edge_config());
    edge2_ = std::make_unique<ChildProcess>(
        "edge2", edgeway_binary(),
        std::vector<std::string>{"edge", "--config", (dir / "edge2.json").string()},
        dir / "edge2.log");
    https_ports_ = {app_->https_port(),
                    port_of(edge2_->require_log(R"(https listening on 127\.0\.0\.1:(\d+))", 15s))};
    const auto link2 = port_of(edge2_->require_log(R"(link listening on 127\.0\.0\.1:(\d+))", 15s));

    json config = app_->core_config();
    config["join_url"] = "https://join.edgeway.test/";
    config["edges"].push_back(
        {{"address", "127.0.0.1:" + std::to_string(link2)}, {"server_name", "localhost"}});
    config["state"] = etcd_->state_config();
    config["admin"] = {{"listen", "127.0.0.1:0"},
                       {"certificate", "pki/edge.pem"},
                       {"private_key", "pki/edge.key"}};
    config.merge_patch(options.core_patch);
    for (std::size_t i = 0; i < std::size(kCoreNames); ++i) {
        config["state_directory"] = (dir / (std::string(kCoreNames[i]) + "-state")).string();
        write_json(core_config_file(i), config);
        core_starts_.push_back(0);
        cores_.push_back(launch_core(i));
    }
    for (auto& core : cores_) {
        admin_ports_.push_back(port_of(core->require_log(kAdminListening, 15s)));
        core->require_log(Appliance::kCoreLinkUp, 15s, 2);
    }
    for (std::size_t i = 0; i < edge_count(); ++i)
        edge(i).require_log(Appliance::kEdgeLinkUp, 15s, 2);
    if (options.etcd_down_at_start) return;
    wait_first_account();
    for (auto& core : cores_) core->require_log(Appliance::kCoreRulesCurrent, 15s);
}

void ClusterAppliance::wait_first_account(Millis timeout) {
    // One first account for the cluster: whichever core created it logged its password.
    wait_until(
        [&] {
            for (auto& core : cores_)
                if (const auto match = core->log().find(kFirstPassword)) password_ = (*match)[1];
            return !password_.empty();
        },
        timeout);
    if (password_.empty()) throw std::runtime_error("no core logged the first admin password");
}

ClusterAppliance::~ClusterAppliance() {
    cores_.clear();
    edge2_.reset();
}

std::unique_ptr<ChildProcess> ClusterAppliance::launch_core(std::size_t i) {
    const std::string name = kCoreNames[i];
    const int start = ++core_starts_.at(i);
    const std::string label = start == 1 ? name : name + "-" + std::to_string(start);
    return std::make_unique<ChildProcess>(
        label, edgeway_binary(),
        std::vector<std::string>{"core", "--config", core_config_file(i).string()},
        app_->dir() / (label + ".log"));
}

int ClusterAppliance::stop_core(std::size_t i) {
    return cores_.at(i)->terminate(15000ms);
}

void ClusterAppliance::start_core(std::size_t i) {
    std::vector<std::size_t> before;
    for (std::size_t e = 0; e < edge_count(); ++e)
        before.push_back(edge(e).log().count(Appliance::kEdgeLinkUp));
    cores_.at(i) = launch_core(i);
    admin_ports_.at(i) = port_of(cores_.at(i)->require_log(kAdminListening, 15s));
    cores_.at(i)->require_log(Appliance::kCoreLinkUp, 15s, edge_count());
    for (std::size_t e = 0; e < edge_count(); ++e)
        edge(e).require_log(Appliance::kEdgeLinkUp, 15s, before[e] + 1);
}

TlsTarget ClusterAppliance::edge_target(std::size_t i) const {
    TlsTarget target = app_->target();
    target.port = https_ports_.at(i);
    return target;
}

std::filesystem::path ClusterAppliance::core_config_file(std::size_t i) const {
    return app_->dir() / (std::string(kCoreNames[i]) + ".json");
}

AdminClient ClusterAppliance::admin(std::size_t i) const {
    TlsTarget target;
    target.port = admin_ports_.at(i);
    target.ca_file = app_->ca_file();
    AdminClient client(target);
    const Response response = client.login("admin", password_);
    if (response.status != 200)
        throw std::runtime_error("admin login on core " + std::to_string(i) + " failed: " +
                                 std::to_string(response.status) + " " + response.body);
    return client;
}

nlohmann::json ClusterAppliance::health_rule(std::size_t edge) const {
    return {{"description", "health checks"},
            {"protocol", "https"},
            {"host", "localhost"},
            {"port", https_ports_.at(edge)},
            {"match", "exact"},
            {"path", "/health"},
            {"methods", {"GET"}}};
}

void ClusterAppliance::wait_edges_applied(std::uint64_t version, Millis timeout) {
    const std::string applied = "allow list version " + std::to_string(version) + " applied";
    for (std::size_t i = 0; i < edge_count(); ++i) edge(i).require_log(applied, timeout);
}

}  // namespace edgeway::test
