#include "tests/support/etcd_cluster.hpp"

#include "tests/support/http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace edgeway::test {

std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("socket failed");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
    ::close(fd);
    if (!ok) throw std::runtime_error("cannot find a free port");
    return ntohs(address.sin_port);
}

EtcdCluster::EtcdCluster(const std::filesystem::path& dir, std::size_t members)
    : dir_(dir / "etcd") {
    std::filesystem::create_directories(dir_);
    members_.resize(members);
    for (std::size_t i = 0; i < members; ++i) {
        Member& member = members_[i];
        member.name = "m" + std::to_string(i);
        member.client_port = free_port();
        member.peer_port = free_port();
        if (i > 0) initial_cluster_ += ",";
        initial_cluster_ += member.name + "=http://127.0.0.1:" + std::to_string(member.peer_port);
    }
    for (std::size_t i = 0; i < members; ++i) start(i);
    for (std::size_t i = 0; i < members; ++i) wait_healthy(i);
}

EtcdCluster::~EtcdCluster() {
    for (auto& member : members_) member.process.reset();
}

std::string EtcdCluster::endpoint(std::size_t member) const {
    return "http://127.0.0.1:" + std::to_string(members_.at(member).client_port);
}

std::vector<std::string> EtcdCluster::endpoints() const {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < members_.size(); ++i) out.push_back(endpoint(i));
    return out;
}

nlohmann::json EtcdCluster::state_config(const std::string& prefix, int timeout_ms) const {
    return {{"backend", "etcd"},
            {"endpoints", endpoints()},
            {"prefix", prefix},
            {"timeout_ms", timeout_ms}};
}

void EtcdCluster::start(std::size_t index) {
    Member& member = members_.at(index);
    const std::string client = "http://127.0.0.1:" + std::to_string(member.client_port);
    const std::string peer = "http://127.0.0.1:" + std::to_string(member.peer_port);
    // A member started again finds its data directory and ignores the initial-* flags.
    member.process = std::make_unique<ChildProcess>(
        "etcd-" + member.name, "/usr/bin/etcd",
        std::vector<std::string>{
            "--name", member.name, "--data-dir", (dir_ / member.name).string(),
            "--listen-client-urls", client, "--advertise-client-urls", client, "--listen-peer-urls",
            peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", initial_cluster_,
            "--initial-cluster-state", "new", "--initial-cluster-token", "edgeway-test",
            // Quicker elections than the defaults (100/1000 ms), still safe on a busy machine.
            "--heartbeat-interval", "100", "--election-timeout", "600", "--log-level", "warn",
            "--logger", "zap", "--log-outputs", "stderr"},
        dir_ / (member.name + "-" + std::to_string(++member.starts) + ".log"));
}

void EtcdCluster::kill(std::size_t member) {
    members_.at(member).process->kill();
    members_.at(member).process.reset();
}

void EtcdCluster::kill_all() {
    for (std::size_t i = 0; i < members_.size(); ++i)
        if (running(i)) kill(i);
}

void EtcdCluster::restart(std::size_t member, Millis timeout) {
    if (running(member)) kill(member);
    start(member);
    wait_healthy(member, timeout);
}

void EtcdCluster::restart_all(Millis timeout) {
    // All at once: one member alone has no quorum and would never report healthy.
    for (std::size_t i = 0; i < members_.size(); ++i)
        if (!running(i)) start(i);
    for (std::size_t i = 0; i < members_.size(); ++i) wait_healthy(i, timeout);
}

bool EtcdCluster::running(std::size_t member) const {
    return members_.at(member).process != nullptr;
}

bool EtcdCluster::healthy(std::size_t member) const {
    try {
        const Response response = http_plain_request(
            members_.at(member).client_port, http::verb::get, "/health", "127.0.0.1", 1000ms);
        return response.status == 200 && response.body.find("\"true\"") != std::string::npos;
    } catch (const std::exception&) {
        return false;
    }
}

void EtcdCluster::wait_healthy(std::size_t member, Millis timeout) const {
    if (!wait_until([&] { return healthy(member); }, timeout, 50ms))
        throw std::runtime_error("etcd member " + members_.at(member).name +
                                 " not healthy in time; its log:\n" +
                                 members_.at(member).process->log_tail());
}

}  // namespace edgeway::test
