// Helpers for the TURN tests: a scratch directory, child processes with their output in a log
// file (the relay under test, coturn's clients), waiting for log lines with a deadline, free
// ports, and a small STUN client built on the relay's own codec for the cases coturn's clients
// cannot provoke (floods, malformed messages, quotas).
#pragma once

#include "turn/integrity.hpp"
#include "turn/stun_codec.hpp"

#include <sys/types.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace edgeway::turn::test {

using namespace std::chrono_literals;
using Millis = std::chrono::milliseconds;

class ScratchDir {
  public:
    ScratchDir();
    ~ScratchDir();
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

  private:
    std::filesystem::path path_;
};

std::string read_text(const std::filesystem::path& file);

// Polls condition every 20 ms until it holds (true) or the timeout passes (false).
template <typename Condition>
bool wait_until(Condition&& condition, Millis timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (condition()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        struct timespec pause {
            0, 20'000'000
        };
        nanosleep(&pause, nullptr);
    }
}

class Child {
  public:
    Child(const std::filesystem::path& program, const std::vector<std::string>& args,
          std::filesystem::path log);
    ~Child();  // SIGKILL and reap
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    std::string output() const { return read_text(log_); }
    // Waits for a line containing text (the nth one); false on timeout.
    bool wait_for(const std::string& text, Millis timeout, std::size_t nth = 1) const;
    std::size_t count(const std::string& text) const;
    std::optional<int> wait_exit(Millis timeout);
    int terminate();
    void signal(int signo);

  private:
    pid_t pid_ = -1;
    std::filesystem::path log_;
    std::optional<int> status_;
};

struct RunResult {
    std::optional<int> exit_code;  // nullopt: killed after the timeout
    std::string output;
};
RunResult run(const std::filesystem::path& program, const std::vector<std::string>& args,
              const std::filesystem::path& log, Millis timeout);

std::uint16_t free_udp_port();
// First port of `count` consecutive ports free for UDP on 127.0.0.1 now.
std::uint16_t free_udp_ports(unsigned count);

// The relay under test in its own process, on 127.0.0.1 with kernel-picked ports.
struct RelayOptions {
    std::vector<std::string> users{"cmsturn:right-password"};
    bool allow_loopback_peers = true;
    unsigned relay_ports = 64;
    std::optional<unsigned> lifetime_ms, max_allocations, max_per_user;
    std::vector<std::string> extra;
};
class Relay {
  public:
    Relay(const ScratchDir& dir, RelayOptions options = {});
    Child& process() { return *process_; }
    std::uint16_t udp_port() const { return udp_port_; }
    std::uint16_t tcp_port() const { return tcp_port_; }
    std::uint16_t first_relay_port() const { return first_relay_port_; }
    unsigned relay_ports() const { return relay_ports_; }

  private:
    std::unique_ptr<Child> process_;
    std::uint16_t udp_port_ = 0, tcp_port_ = 0, first_relay_port_ = 0;
    unsigned relay_ports_ = 0;
};

// A UDP STUN client on 127.0.0.1 talking to one server port.
class StunClient {
  public:
    explicit StunClient(std::uint16_t server_port);
    ~StunClient();
    StunClient(const StunClient&) = delete;
    StunClient& operator=(const StunClient&) = delete;

    void send(stun::ByteView bytes);
    // The next datagram, or nullopt after timeout.
    std::optional<stun::Bytes> receive(Millis timeout = 2000ms);
    stun::TransactionId new_transaction();
    std::uint16_t local_port() const;

    // Sends a request (built by the caller) and returns the response's parse. Throws on timeout.
    stun::Bytes request(const stun::Bytes& message);

    // Allocate with the long-term mechanism (the 401 round first). Returns the error code (0 on
    // success) and sets relayed.
    unsigned allocate(const std::string& user, const std::string& password,
                      stun::Endpoint* relayed = nullptr, const std::string& realm = "edgeway");
    // An authenticated request after allocate() (same user, realm and nonce).
    unsigned authenticated(std::uint16_t method,
                           const std::function<void(stun::MessageBuilder&)>& fill);

  private:
    int fd_ = -1;
    std::uint16_t server_port_;
    std::uint32_t counter_ = 0;
    std::string user_, realm_, nonce_;
    stun::Md5 key_{};
};

// ERROR-CODE of a response, 0 for a success, 1000 when it is no STUN response at all.
unsigned error_code_of(stun::ByteView response);

}  // namespace edgeway::turn::test
