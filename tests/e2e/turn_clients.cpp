#include "tests/e2e/turn_clients.hpp"

#include "tests/support/wait.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include <stdexcept>

namespace edgeway::test {

namespace {

// True once something is bound to 127.0.0.1:port (UDP): the peer is ready.
bool udp_port_taken(std::uint16_t port) {
    boost::asio::io_context io;
    boost::asio::ip::udp::socket socket(io, boost::asio::ip::udp::v4());
    boost::system::error_code ec;
    socket.bind({boost::asio::ip::make_address("127.0.0.1"), port}, ec);
    return ec == boost::asio::error::address_in_use;
}

}  // namespace

nlohmann::json loopback_relay() {
    return {{"udp_listen", {"127.0.0.1:0"}},
            {"tcp_listen", {"127.0.0.1:0"}},
            {"relay_address", "127.0.0.1"},
            {"relay_ports", "30000-39999"},
            {"realm", "edgeway.test"},
            // The peer in these tests is on loopback, which the relay refuses by default.
            {"allowed_peer_ranges", {"127.0.0.0/8"}}};
}

std::uint16_t free_udp_port() {
    boost::asio::io_context io;
    boost::asio::ip::udp::socket socket(
        io, boost::asio::ip::udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    return socket.local_endpoint().port();
}

std::vector<std::string> uclient_args(std::uint16_t turn_port, std::uint16_t peer_port,
                                      const std::string& user, const std::string& password,
                                      int messages, int pause_ms) {
    return {"-p",       std::to_string(turn_port),
            "-u",       user,
            "-w",       password,
            "-e",       "127.0.0.1",
            "-r",       std::to_string(peer_port),
            "-n",       std::to_string(messages),
            "-m",       "1",
            "-l",       "120",
            "-z",       std::to_string(pause_ms),
            "127.0.0.1"};
}

TurnPeer::TurnPeer(const std::filesystem::path& log_file) : port_(free_udp_port()) {
    process_ = std::make_unique<ChildProcess>(
        "turnutils_peer", kPeer,
        std::vector<std::string>{"-p", std::to_string(port_), "-L", "127.0.0.1"}, log_file);
    if (!wait_until([&] { return udp_port_taken(port_); }, 5s))
        throw std::runtime_error("turnutils_peer did not bind its port");
}

std::unique_ptr<ChildProcess> start_uclient(std::uint16_t turn_port, const std::string& user,
                                            const std::string& password,
                                            const std::filesystem::path& log_file) {
    auto args = uclient_args(turn_port, free_udp_port(), user, password, 1, 0);
    args.insert(args.begin(), "-c");
    return std::make_unique<ChildProcess>("turnutils_uclient", kUclient, args, log_file);
}

}  // namespace edgeway::test
