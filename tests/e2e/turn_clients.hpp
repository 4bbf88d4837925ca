// coturn's test clients against an edge's TURN relay: turnutils_peer echoing on loopback and
// turnutils_uclient allocating through the relay and relaying to it.
#pragma once

#include "tests/support/child_process.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace edgeway::test {

inline const std::filesystem::path kUclient = "/usr/bin/turnutils_uclient";
inline const std::filesystem::path kPeer = "/usr/bin/turnutils_peer";
// An edge's log line with its relay's UDP port (group 1).
constexpr const char* kTurnUdp = R"(turn listening on udp 127\.0\.0\.1:(\d+))";

// The relay settings an edge needs for these clients (merged into its "turn" object).
nlohmann::json loopback_relay();

std::uint16_t free_udp_port();

std::vector<std::string> uclient_args(std::uint16_t turn_port, std::uint16_t peer_port,
                                      const std::string& user, const std::string& password,
                                      int messages, int pause_ms);

// A turnutils_peer on a free loopback port, ready once made.
class TurnPeer {
  public:
    explicit TurnPeer(const std::filesystem::path& log_file);
    std::uint16_t port() const { return port_; }

  private:
    std::uint16_t port_;
    std::unique_ptr<ChildProcess> process_;
};

// turnutils_uclient allocating through the relay as `user` (one client, no RTCP allocation),
// running until destroyed: for tests that wait on the relay's log rather than on the client's
// exit, which comes seconds later (its timers tick once a second).
std::unique_ptr<ChildProcess> start_uclient(std::uint16_t turn_port, const std::string& user,
                                            const std::string& password,
                                            const std::filesystem::path& log_file);

}  // namespace edgeway::test
