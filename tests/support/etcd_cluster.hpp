// A real etcd cluster for the tests: members of Debian's etcd (/usr/bin/etcd) on free loopback
// ports, with their data in a directory of the test's; each can be killed (SIGKILL) and started
// again on the same data. Waits on each member's /health, never on time.
#pragma once

#include "tests/support/child_process.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace edgeway::test {

class EtcdCluster {
  public:
    // Starts `members` members in dir/etcd and waits until every one reports healthy.
    explicit EtcdCluster(const std::filesystem::path& dir, std::size_t members = 3);
    ~EtcdCluster();
    EtcdCluster(const EtcdCluster&) = delete;
    EtcdCluster& operator=(const EtcdCluster&) = delete;

    std::size_t size() const { return members_.size(); }
    std::string endpoint(std::size_t member) const;  // "http://127.0.0.1:PORT"
    std::vector<std::string> endpoints() const;
    // The core configuration's "state" object for this cluster.
    nlohmann::json state_config(const std::string& prefix = "/edgeway/",
                                int timeout_ms = 2000) const;

    void kill(std::size_t member);
    void kill_all();
    // Starts a killed member again on its data and waits until it is healthy.
    void restart(std::size_t member, Millis timeout = 20000ms);
    void restart_all(Millis timeout = 20000ms);
    bool running(std::size_t member) const;
    // GET /health says true: the member is up and has a leader.
    bool healthy(std::size_t member) const;
    void wait_healthy(std::size_t member, Millis timeout = 20000ms) const;

  private:
    struct Member {
        std::string name;
        std::uint16_t client_port = 0, peer_port = 0;
        std::unique_ptr<ChildProcess> process;
        int starts = 0;
    };
    void start(std::size_t member);

    std::filesystem::path dir_;
    std::vector<Member> members_;
    std::string initial_cluster_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (for programs that must be told their
// ports up front, like etcd's peers).
std::uint16_t free_port();

}  // namespace edgeway::test
