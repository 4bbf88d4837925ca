#include "tests/support/cluster_appliance.hpp"

#include <stdexcept>

namespace edgeway::test {

namespace {

constexpr const char* kAdminListening = R"(admin listening on 127\.0\.0\.1:(\d+))";
constexpr const char* kFirstPassword =
    R"(first start: admin account "admin" created with password: (\S+))";

}  // namespace

ClusterAppliance::ClusterAppliance(const json& edge_patch, const json& core_patch) {
    ApplianceOptions options;
    options.start_core = false;
    options.edge_patch = edge_patch;
    app_ = std::make_unique<Appliance>(options);
    etcd_ = std::make_unique<EtcdCluster>(app_->dir().path());

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
    config.merge_patch(core_patch);
    for (const char* name : {"core-a", "core-b"}) {
        config["state_directory"] = (dir / (std::string(name) + "-state")).string();
        write_json(dir / (std::string(name) + ".json"), config);
        cores_.push_back(std::make_unique<ChildProcess>(
            name, edgeway_binary(),
            std::vector<std::string>{"core", "--config",
                                     (dir / (std::string(name) + ".json")).string()},
            dir / (std::string(name) + ".log")));
    }
    for (auto& core : cores_) {
        admin_ports_.push_back(port_of(core->require_log(kAdminListening, 15s)));
        core->require_log(Appliance::kCoreLinkUp, 15s, 2);
    }
    // One first account for the cluster: whichever core created it logged its password.
    wait_until(
        [&] {
            for (auto& core : cores_)
                if (const auto match = core->log().find(kFirstPassword)) password_ = (*match)[1];
            return !password_.empty();
        },
        15s);
    if (password_.empty()) throw std::runtime_error("no core logged the first admin password");
    for (std::size_t i = 0; i < edge_count(); ++i)
        edge(i).require_log(Appliance::kEdgeLinkUp, 15s, 2);
    for (auto& core : cores_) core->require_log(Appliance::kCoreRulesCurrent, 15s);
}

ClusterAppliance::~ClusterAppliance() {
    cores_.clear();
    edge2_.reset();
}

TlsTarget ClusterAppliance::edge_target(std::size_t i) const {
    TlsTarget target = app_->target();
    target.port = https_ports_.at(i);
    return target;
}

std::filesystem::path ClusterAppliance::core_config_file(std::size_t i) const {
    return app_->dir() / (i == 0 ? "core-a.json" : "core-b.json");
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
