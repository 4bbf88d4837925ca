// A cluster on loopback: a 3-member etcd cluster, the demo web bridge, two edges and two cores
// that share their state in etcd ("state": {"backend": "etcd"}); each core keeps a link to each
// edge and runs its admin server. The join URL does not resolve, so there are no automatic
// rules: every edge refuses everything until an operator adds a rule.
#pragma once

#include "tests/support/admin_client.hpp"
#include "tests/support/appliance.hpp"
#include "tests/support/etcd_cluster.hpp"

#include <memory>
#include <string>
#include <vector>

namespace edgeway::test {

class ClusterAppliance {
  public:
    // RFC 7386 merge patches over both edges' and both cores' configurations.
    explicit ClusterAppliance(const json& edge_patch = json::object(),
                              const json& core_patch = json::object());
    ~ClusterAppliance();

    Appliance& app() { return *app_; }
    EtcdCluster& etcd() { return *etcd_; }
    std::size_t edge_count() const { return 2; }
    ChildProcess& edge(std::size_t i) { return i == 0 ? app_->edge() : *edge2_; }
    ChildProcess& core(std::size_t i) { return *cores_.at(i); }
    // The https listener of edge i, trusting the lab CA.
    TlsTarget edge_target(std::size_t i) const;
    std::filesystem::path core_config_file(std::size_t i) const;
    // A client logged in to core i's admin API as the first account.
    AdminClient admin(std::size_t i) const;
    // GET /health through edge i allowed: the rule an operator adds for it.
    nlohmann::json health_rule(std::size_t edge) const;
    // Waits until every edge has applied allow-list version `version` (from any core).
    void wait_edges_applied(std::uint64_t version, Millis timeout = 5000ms);

  private:
    std::unique_ptr<Appliance> app_;
    std::unique_ptr<EtcdCluster> etcd_;
    std::unique_ptr<ChildProcess> edge2_;
    std::vector<std::unique_ptr<ChildProcess>> cores_;
    std::vector<std::uint16_t> https_ports_, admin_ports_;
    std::string password_;
};

}  // namespace edgeway::test
