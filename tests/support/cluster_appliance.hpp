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

struct ClusterOptions {
    // RFC 7386 merge patches over both edges' and both cores' configurations.
    json edge_patch = json::object();
    json core_patch = json::object();
    // A new cluster whose etcd is down when its cores first start: the cores are only waited
    // for until they are linked; wait_first_account() once etcd is back.
    bool etcd_down_at_start = false;
};

class ClusterAppliance {
  public:
    explicit ClusterAppliance(ClusterOptions options = {});
    ~ClusterAppliance();

    Appliance& app() { return *app_; }
    EtcdCluster& etcd() { return *etcd_; }
    std::size_t edge_count() const { return 2; }
    ChildProcess& edge(std::size_t i) { return i == 0 ? app_->edge() : *edge2_; }
    ChildProcess& core(std::size_t i) { return *cores_.at(i); }
    std::size_t core_count() const { return cores_.size(); }
    // SIGTERM to core i (it drains); returns its exit code.
    int stop_core(std::size_t i);
    // Core i (again) with its config and state directory, a new process and log; waits until
    // it has a link up to every edge and every edge counts one more link up.
    void start_core(std::size_t i);
    // The https listener of edge i, trusting the lab CA.
    TlsTarget edge_target(std::size_t i) const;
    std::filesystem::path core_config_file(std::size_t i) const;
    // Waits until one of the cores has created the cluster's first admin account.
    void wait_first_account(Millis timeout = 15000ms);
    // A client logged in to core i's admin API as the first account.
    AdminClient admin(std::size_t i) const;
    // GET /health through edge i allowed: the rule an operator adds for it.
    nlohmann::json health_rule(std::size_t edge) const;
    // Waits until every edge has applied allow-list version `version` (from any core).
    void wait_edges_applied(std::uint64_t version, Millis timeout = 5000ms);

  private:
    std::unique_ptr<ChildProcess> launch_core(std::size_t i);

    std::unique_ptr<Appliance> app_;
    std::unique_ptr<EtcdCluster> etcd_;
    std::unique_ptr<ChildProcess> edge2_;
    std::vector<std::unique_ptr<ChildProcess>> cores_;
    std::vector<int> core_starts_;  // per core, how often it was started
    std::vector<std::uint16_t> https_ports_, admin_ports_;
    std::string password_;
};

}  // namespace edgeway::test
