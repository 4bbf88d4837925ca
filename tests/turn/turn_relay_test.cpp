// The relay in its own process on 127.0.0.1, driven by coturn's real clients (turnutils_*) and
// by a small STUN client for floods, quotas, expiry and malformed input. Every port is chosen at
// run time, so cases run in parallel.
#include "tests/turn/turn_support.hpp"
#include "turn/turn.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <regex>
#include <sstream>

using namespace edgeway::turn;
using namespace edgeway::turn::test;

namespace {

const std::filesystem::path kStunClient = "/usr/bin/turnutils_stunclient";
const std::filesystem::path kUclient = "/usr/bin/turnutils_uclient";
const std::filesystem::path kPeer = "/usr/bin/turnutils_peer";

// turnutils_peer echoes what it receives: the uclient's data goes through the relay to the peer
// and back.
struct EchoPeer {
    std::uint16_t port = free_udp_port();
    Child process;
    explicit EchoPeer(const ScratchDir& dir)
        : process(kPeer, {"-p", std::to_string(port), "-L", "127.0.0.1"}, dir / "peer.log") {}
};

RunResult uclient(const ScratchDir& dir, const Relay& relay, const EchoPeer& peer,
                  std::vector<std::string> flags, const std::string& password = "right-password",
                  const std::string& log = "uclient.log") {
    const bool tcp = std::find(flags.begin(), flags.end(), "-t") != flags.end();
    std::vector<std::string> args = std::move(flags);
    args.insert(args.end(),
                {"-p", std::to_string(tcp ? relay.tcp_port() : relay.udp_port()), "-u", "cmsturn",
                 "-w", password, "-e", "127.0.0.1", "-r", std::to_string(peer.port), "-n", "20",
                 "-m", "2", "-l", "120", "-z", "5", "127.0.0.1"});
    return run(kUclient, args, dir / log, 30000ms);
}

// "tot_send_msgs=40, tot_recv_msgs=40" from uclient's summary.
std::pair<int, int> sent_received(const std::string& output) {
    std::smatch match;
    std::string::const_iterator from = output.begin();
    std::pair<int, int> last{-1, -1};
    const std::regex summary("start_mclient: tot_send_msgs=(\\d+), tot_recv_msgs=(\\d+)");
    while (std::regex_search(from, output.end(), match, summary)) {
        last = {std::stoi(match[1]), std::stoi(match[2])};
        from = match.suffix().first;
    }
    return last;
}

void require_relayed(const RunResult& result) {
    INFO(result.output.substr(result.output.size() > 3000 ? result.output.size() - 3000 : 0));
    REQUIRE(result.exit_code == 0);
    const auto [sent, received] = sent_received(result.output);
    CHECK(sent == 40);
    CHECK(received == 40);
}

stun::Bytes binding_request(StunClient& client) {
    stun::MessageBuilder request(stun::method::binding, stun::Class::request,
                                 client.new_transaction());
    request.add_fingerprint();
    return request.bytes();
}

}  // namespace

TEST_CASE("turn relay: turnutils_stunclient gets its mapped address over UDP", "[turn][e2e]") {
    ScratchDir dir;
    Relay relay(dir);
    const auto result = run(kStunClient, {"-p", std::to_string(relay.udp_port()), "127.0.0.1"},
                            dir / "stunclient.log", 10000ms);
    INFO(result.output);
    CHECK(result.exit_code == 0);
    CHECK(result.output.find("UDP reflexive addr: 127.0.0.1:") != std::string::npos);
}

TEST_CASE("turn relay: turnutils_uclient relays UDP through channels to a peer and back",
          "[turn][e2e]") {
    ScratchDir dir;
    Relay relay(dir);
    EchoPeer peer(dir);
    require_relayed(uclient(dir, relay, peer, {}));
    // RTP and RTCP allocations (the RTCP one on the port reserved by EVEN-PORT), freed by the
    // clients at the end; nothing refused on the way.
    CHECK(relay.process().count("allocation for user 'cmsturn' from udp 127.0.0.1:") >= 2);
    CHECK(relay.process().wait_for("deleted by the client", 5000ms));
    CHECK(relay.process().count(" WARN ") == 0);
}

TEST_CASE("turn relay: turnutils_uclient relays with Send and Data indications (-s)",
          "[turn][e2e]") {
    ScratchDir dir;
    Relay relay(dir);
    EchoPeer peer(dir);
    require_relayed(uclient(dir, relay, peer, {"-s", "-c"}));
}

TEST_CASE("turn relay: turnutils_uclient over TCP, with and without RTCP (-c)", "[turn][e2e]") {
    ScratchDir dir;
    Relay relay(dir);
    EchoPeer peer(dir);
    require_relayed(uclient(dir, relay, peer, {"-t"}, "right-password", "uclient-tcp.log"));
    require_relayed(uclient(dir, relay, peer, {"-t", "-c"}, "right-password", "uclient-tcp-c.log"));
    CHECK(relay.process().count("allocation for user 'cmsturn' from tcp 127.0.0.1:") >= 4);
    CHECK(relay.process().count(" WARN ") == 0);
}

TEST_CASE("turn relay: a wrong password gets 401 and a log line naming the user", "[turn][e2e]") {
    ScratchDir dir;
    Relay relay(dir);
    EchoPeer peer(dir);
    const auto result = uclient(dir, relay, peer, {"-c"}, "wrong-password");
    INFO(result.output);
    CHECK(result.exit_code != 0);
    CHECK(relay.process().wait_for(
        "401: integrity check failed for user 'cmsturn' in realm 'edgeway' — password mismatch?",
        5000ms));
    CHECK(relay.process().count("allocation for user") == 0);

    StunClient client(relay.udp_port());
    CHECK(client.allocate("cmsturn", "wrong-password") == 401);
    CHECK(client.allocate("nobody", "whatever") == 401);
    CHECK(relay.process().wait_for("401: user 'nobody' unknown in local credential database",
                                   5000ms));
    CHECK(client.allocate("cmsturn", "right-password", nullptr, "OTHER-REALM") == 401);
    CHECK(relay.process().wait_for(
        "401: user 'cmsturn' sent realm 'OTHER-REALM' but this relay's realm is 'edgeway'",
        5000ms));
}

TEST_CASE("turn relay: allocation flood beyond the quotas gets 486 and 508", "[turn][e2e]") {
    ScratchDir dir;
    RelayOptions options;
    options.users = {"cmsturn:right-password", "second:other-password"};
    options.max_per_user = 3;
    options.max_allocations = 5;
    Relay relay(dir, options);
    std::vector<std::unique_ptr<StunClient>> clients;
    auto allocate = [&](const std::string& user, const std::string& password) {
        clients.push_back(std::make_unique<StunClient>(relay.udp_port()));
        return clients.back()->allocate(user, password);
    };
    for (int i = 0; i < 3; ++i) CHECK(allocate("cmsturn", "right-password") == 0);
    CHECK(allocate("cmsturn", "right-password") == 486);
    CHECK(relay.process().wait_for("486: user 'cmsturn'", 5000ms));
    CHECK(allocate("second", "other-password") == 0);
    CHECK(allocate("second", "other-password") == 0);
    for (int i = 0; i < 20; ++i) CHECK(allocate("second", "other-password") == 508);
    CHECK(relay.process().wait_for("508: allocation for user 'second'", 5000ms));
    // Freeing one makes room again.
    CHECK(clients[0]->authenticated(stun::method::refresh, [](stun::MessageBuilder& m) {
        m.add_u32(stun::attr::lifetime, 0);
    }) == 0);
    CHECK(allocate("second", "other-password") == 0);
}

TEST_CASE("turn relay: expired allocations free their ports for new ones", "[turn][e2e]") {
    ScratchDir dir;
    RelayOptions options;
    options.relay_ports = 2;
    options.lifetime_ms = 1000;
    Relay relay(dir, options);
    StunClient a(relay.udp_port()), b(relay.udp_port()), c(relay.udp_port());
    stun::Endpoint first, second, third;
    REQUIRE(a.allocate("cmsturn", "right-password", &first) == 0);
    REQUIRE(b.allocate("cmsturn", "right-password", &second) == 0);
    CHECK(first.port() != second.port());
    CHECK(c.allocate("cmsturn", "right-password") == 508);
    CHECK(relay.process().wait_for("no free port in the relay range", 5000ms));
    REQUIRE(relay.process().wait_for("expired; relay port", 10000ms, 2));
    // The Refresh of an expired allocation is a mismatch now.
    CHECK(a.authenticated(stun::method::refresh, [](stun::MessageBuilder&) {}) == 437);
    StunClient d(relay.udp_port());
    REQUIRE(d.allocate("cmsturn", "right-password", &third) == 0);
    CHECK(third.port() >= relay.first_relay_port());
    CHECK(third.port() < relay.first_relay_port() + 2);
}

TEST_CASE("turn relay: malformed and truncated packets get 400 or nothing, and no crash",
          "[turn][e2e]") {
    ScratchDir dir;
    Relay relay(dir);
    StunClient client(relay.udp_port());
    const auto good = binding_request(client);

    // Not STUN, or a header that does not hold together: dropped without an answer.
    for (std::size_t size = 0; size < good.size(); ++size)
        client.send(stun::ByteView(good.data(), size));
    const std::uint8_t garbage[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0xFF, 0xFF, 0xFF};
    client.send(garbage);
    const std::uint8_t channel_junk[] = {0x40, 0x00, 0xFF, 0xFF, 1, 2};
    client.send(channel_junk);
    CHECK_FALSE(client.receive(300ms));  // nothing is answered (bounded wait for a wrong reply)

    // A request whose attribute runs past the end: 400 with its transaction id.
    stun::MessageBuilder bad(stun::method::allocate, stun::Class::request,
                             client.new_transaction());
    bad.add_text(stun::attr::username, "abcd");
    auto bytes = bad.bytes();
    bytes[23] = 0x40;
    CHECK(error_code_of(client.request(bytes)) == 400);
    CHECK(relay.process().wait_for("400: malformed attribute in a Allocate request", 5000ms));

    // An unknown comprehension-required attribute: 420 listing it.
    stun::MessageBuilder unknown(stun::method::binding, stun::Class::request,
                                 client.new_transaction());
    unknown.add_u32(0x7ABC, 1);
    const auto reply = client.request(unknown.bytes());
    CHECK(error_code_of(reply) == 420);
    const auto parsed = stun::parse(reply);
    const auto* list = parsed.message->find(stun::attr::unknown_attributes);
    REQUIRE(list);
    REQUIRE(list->value.size() == 2);
    CHECK((list->value[0] << 8 | list->value[1]) == 0x7ABC);

    // An unknown method: 400. A Refresh without an allocation: 437 after authentication.
    stun::MessageBuilder odd(0x0FF, stun::Class::request, client.new_transaction());
    CHECK(error_code_of(client.request(odd.bytes())) == 400);

    // Still serving.
    CHECK(error_code_of(client.request(binding_request(client))) == 0);
    CHECK(relay.process().output().find("terminate") == std::string::npos);
}

TEST_CASE("turn relay: 437 and 441 on the wrong 5-tuple or user, 403 for refused peers",
          "[turn][e2e]") {
    ScratchDir dir;
    RelayOptions options;
    options.users = {"cmsturn:right-password", "second:other-password"};
    options.allow_loopback_peers = false;
    Relay relay(dir, options);
    StunClient client(relay.udp_port());
    REQUIRE(client.allocate("cmsturn", "right-password") == 0);
    // A second Allocate on the same 5-tuple (not a retransmission).
    CHECK(client.allocate("cmsturn", "right-password") == 437);
    CHECK(client.allocate("second", "other-password") == 441);
    CHECK(relay.process().wait_for("441: user 'second'", 5000ms));

    REQUIRE(client.allocate("cmsturn", "right-password") == 437);  // back to cmsturn's key
    const auto permit = [&](const char* address) {
        return client.authenticated(stun::method::create_permission, [&](stun::MessageBuilder& m) {
            m.add_xor_address(stun::attr::xor_peer_address,
                              stun::Endpoint(boost::asio::ip::make_address(address), 9));
        });
    };
    CHECK(permit("127.0.0.1") == 403);
    CHECK(relay.process().wait_for("asked to relay to 127.0.0.1, a loopback address; refused",
                                   5000ms));
    CHECK(permit("169.254.10.10") == 403);
    CHECK(permit("0.0.0.0") == 403);
    CHECK(permit("198.51.100.20") == 0);
    CHECK(client.authenticated(stun::method::channel_bind, [](stun::MessageBuilder& m) {
        m.add_u32(stun::attr::channel_number, 0x3000u << 16);
        m.add_xor_address(stun::attr::xor_peer_address,
                          stun::Endpoint(boost::asio::ip::make_address("198.51.100.20"), 9));
    }) == 400);

    StunClient stranger(relay.udp_port());
    stranger.allocate("cmsturn", "wrong");  // only to learn a nonce
    CHECK(stranger.authenticated(stun::method::refresh, [](stun::MessageBuilder&) {}) == 401);
}

TEST_CASE("turn relay: Server::allocations() reports users, addresses and counters",
          "[turn][e2e]") {
    ScratchDir dir;
    set_user(dir / "state", "cmsturn", "edgeway", "right-password");
    auto config = std::make_shared<Config>();
    config->udp_listen = {"127.0.0.1:0"};
    config->tcp_listen = {};
    config->state_directory = dir / "state";
    config->allowed_peer_ranges = {"127.0.0.0/8"};
    const auto first = free_udp_ports(8);
    config->relay_port_min = first;
    config->relay_port_max = static_cast<std::uint16_t>(first + 7);
    edgeway::Logger log("turn-test", edgeway::LogLevel::warn);
    Server server(config, log);
    server.start();
    CHECK(server.allocations().empty());

    StunClient client(server.udp_ports().at(0));
    stun::Endpoint relayed;
    REQUIRE(client.allocate("cmsturn", "right-password", &relayed) == 0);
    CHECK(relayed.address().to_string() == "127.0.0.1");  // the address that routes to us

    // A peer socket: permission, then a Send indication reaches it, and its answer comes back.
    StunClient peer(relayed.port());  // "server" port = the relayed port
    const auto peer_port = [&] {
        stun::MessageBuilder probe(stun::method::binding, stun::Class::indication,
                                   peer.new_transaction());
        return probe.bytes();
    }();
    (void)peer_port;
    REQUIRE(client.authenticated(stun::method::create_permission, [&](stun::MessageBuilder& m) {
        m.add_xor_address(stun::attr::xor_peer_address,
                          stun::Endpoint(boost::asio::ip::make_address("127.0.0.1"), 1));
    }) == 0);
    peer.send(stun::Bytes{'h', 'i'});  // peer -> relay -> client (a Data indication)
    const auto data = client.receive();
    REQUIRE(data);
    const auto indication = stun::parse(*data);
    REQUIRE(indication.error == stun::ParseError::ok);
    CHECK(indication.message->method == stun::method::data);
    CHECK(indication.message->find(stun::attr::data)->value.size() == 2);

    const auto all = server.allocations();
    REQUIRE(all.size() == 1);
    CHECK(all[0].user == "cmsturn");
    CHECK(all[0].client.rfind("udp 127.0.0.1:", 0) == 0);
    CHECK(all[0].relayed == "127.0.0.1:" + std::to_string(relayed.port()));
    CHECK(all[0].packets_out == 1);
    CHECK(all[0].bytes_out == 2);
    server.stop();
    CHECK(server.allocations().empty());
}

TEST_CASE("turn relay: bursts queued while the relay is stopped all get through in both directions",
          "[turn][e2e]") {
    ScratchDir dir;
    Relay relay(dir);
    StunClient client(relay.udp_port());
    stun::Endpoint relayed;
    REQUIRE(client.allocate("cmsturn", "right-password", &relayed) == 0);
    StunClient peer(relayed.port());
    const stun::Endpoint peer_address(boost::asio::ip::make_address("127.0.0.1"),
                                      peer.local_port());
    REQUIRE(client.authenticated(stun::method::create_permission, [&](stun::MessageBuilder& m) {
        m.add_xor_address(stun::attr::xor_peer_address, peer_address);
    }) == 0);
    constexpr int kPackets = 300;  // several times what the relay takes per wake-up

    // Client -> peer: Send indications pile up in the listener's socket while it is stopped.
    relay.process().signal(SIGSTOP);
    for (int i = 0; i < kPackets; ++i) {
        stun::MessageBuilder send(stun::method::send, stun::Class::indication,
                                  client.new_transaction());
        send.add_xor_address(stun::attr::xor_peer_address, peer_address);
        const std::uint8_t payload[4] = {static_cast<std::uint8_t>(i), 1, 2, 3};
        send.add(stun::attr::data, payload);
        client.send(send.bytes());
    }
    relay.process().signal(SIGCONT);
    int received = 0;
    while (received < kPackets && peer.receive(2000ms)) ++received;
    CHECK(received == kPackets);

    // Peer -> client: datagrams pile up in the relay socket.
    relay.process().signal(SIGSTOP);
    for (int i = 0; i < kPackets; ++i) peer.send(stun::Bytes{static_cast<std::uint8_t>(i), 9});
    relay.process().signal(SIGCONT);
    received = 0;
    while (received < kPackets && client.receive(2000ms)) ++received;
    CHECK(received == kPackets);
}

TEST_CASE("turn relay: an expired nonce gets 438 with a fresh one, and a log line", "[turn][e2e]") {
    ScratchDir dir;
    RelayOptions options;
    options.extra = {"--nonce-ms", "300"};
    Relay relay(dir, options);
    StunClient client(relay.udp_port());
    REQUIRE(client.allocate("cmsturn", "right-password") == 0);
    CHECK(wait_until(
        [&] {
            return client.authenticated(stun::method::refresh, [](stun::MessageBuilder&) {}) == 438;
        },
        5000ms));
    CHECK(relay.process().wait_for("438: stale nonce from user 'cmsturn'", 5000ms));
}

TEST_CASE("turn relay: TURN REST API time-limited credentials from the shared secret",
          "[turn][e2e]") {
    ScratchDir dir;
    std::istringstream secret("rest-secret\n");
    std::ostringstream out, err;
    REQUIRE(run_turn_command(
                {"secret", "set", "--state-dir", (dir / "state").string()},
                [](const std::filesystem::path&) { return CliSettings{}; }, secret, out, err) == 0);
    Relay relay(dir);
    EchoPeer peer(dir);
    const auto result = run(
        kUclient,
        {"-W", "rest-secret", "-u", "meeting", "-c", "-p", std::to_string(relay.udp_port()), "-e",
         "127.0.0.1", "-r", std::to_string(peer.port), "-n", "10", "-z", "5", "127.0.0.1"},
        dir / "uclient-rest.log", 30000ms);
    INFO(result.output);
    CHECK(result.exit_code == 0);
    CHECK(sent_received(result.output) == std::pair<int, int>{10, 10});
    CHECK(relay.process().count(":meeting' from udp 127.0.0.1:") >= 1);

    // An expired one, with the right MAC for its username, is refused.
    StunClient client(relay.udp_port());
    const std::string expired = "1000:meeting";
    const auto mac = stun::hmac_sha1(
        stun::ByteView(reinterpret_cast<const std::uint8_t*>("rest-secret"), 11),
        stun::ByteView(reinterpret_cast<const std::uint8_t*>(expired.data()), expired.size()));
    CHECK(client.allocate(expired, stun::base64(mac)) == 401);
    CHECK(relay.process().wait_for("401: time-limited credential '1000:meeting' expired", 5000ms));
}

TEST_CASE("turn relay: TCP answers Binding and closes on bytes that are not STUN", "[turn][e2e]") {
    ScratchDir dir;
    Relay relay(dir);
    const auto connect_tcp = [&] {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(relay.tcp_port());
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
        const timeval timeout{5, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        return fd;
    };
    // Two Binding requests in one write, the second split over two writes: framing by length.
    StunClient ids(relay.udp_port());
    const auto first = binding_request(ids), second = binding_request(ids);
    const int fd = connect_tcp();
    stun::Bytes both = first;
    both.insert(both.end(), second.begin(), second.begin() + 10);
    REQUIRE(::send(fd, both.data(), both.size(), 0) == static_cast<ssize_t>(both.size()));
    REQUIRE(::send(fd, second.data() + 10, second.size() - 10, 0) ==
            static_cast<ssize_t>(second.size() - 10));
    stun::Bytes received;
    std::uint8_t chunk[1024];
    while (received.size() < 2 * 20) {
        const auto n = ::recv(fd, chunk, sizeof chunk, 0);
        REQUIRE(n > 0);
        received.insert(received.end(), chunk, chunk + n);
    }
    const auto size = *stun::stream_frame_size(received);
    while (received.size() < 2 * size) {
        const auto n = ::recv(fd, chunk, sizeof chunk, 0);
        REQUIRE(n > 0);
        received.insert(received.end(), chunk, chunk + n);
    }
    CHECK(error_code_of(stun::ByteView(received.data(), size)) == 0);
    CHECK(error_code_of(stun::ByteView(received.data() + size, size)) == 0);

    // A TLS ClientHello start: closed.
    const std::uint8_t tls[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03};
    REQUIRE(::send(fd, tls, sizeof tls, 0) == static_cast<ssize_t>(sizeof tls));
    CHECK(::recv(fd, chunk, sizeof chunk, 0) == 0);
    ::close(fd);
    CHECK(relay.process().wait_for("bytes that are neither STUN nor ChannelData", 5000ms));

    // A truncated header, then the client goes away: nothing breaks.
    const int other = connect_tcp();
    ::send(other, first.data(), 10, 0);
    ::close(other);
    CHECK(error_code_of(ids.request(binding_request(ids))) == 0);
}

TEST_CASE("turn relay: traffic over the per-allocation rate is dropped, with one log line",
          "[turn][e2e]") {
    ScratchDir dir;
    RelayOptions options;
    options.extra = {"--max-pps", "50"};
    Relay relay(dir, options);
    StunClient client(relay.udp_port());
    stun::Endpoint relayed;
    REQUIRE(client.allocate("cmsturn", "right-password", &relayed) == 0);
    StunClient peer(relayed.port());
    const stun::Endpoint peer_address(boost::asio::ip::make_address("127.0.0.1"),
                                      peer.local_port());
    REQUIRE(client.authenticated(stun::method::create_permission, [&](stun::MessageBuilder& m) {
        m.add_xor_address(stun::attr::xor_peer_address, peer_address);
    }) == 0);
    for (int i = 0; i < 300; ++i) {
        stun::MessageBuilder send(stun::method::send, stun::Class::indication,
                                  client.new_transaction());
        send.add_xor_address(stun::attr::xor_peer_address, peer_address);
        send.add(stun::attr::data, stun::Bytes{1, 2, 3, 4});
        client.send(send.bytes());
    }
    int received = 0;
    while (peer.receive(500ms)) ++received;
    CHECK(received >= 40);  // the bucket's second of burst
    CHECK(received < 150);  // not the 300 sent
    CHECK(relay.process().wait_for("traffic from the client is over max_packets_per_second (50)",
                                   5000ms));
    CHECK(relay.process().count("is over max_packets_per_second") == 1);
}

TEST_CASE("turn relay: start() refuses a bad configuration, naming the field or address",
          "[turn][e2e]") {
    ScratchDir dir;
    edgeway::Logger log("turn-test", edgeway::LogLevel::error);
    const auto start_error = [&](const std::function<void(Config&)>& change) -> std::string {
        auto config = std::make_shared<Config>();
        config->udp_listen = {"127.0.0.1:0"};
        config->tcp_listen = {"127.0.0.1:0"};
        config->state_directory = dir / "state";
        change(*config);
        Server server(config, log);
        try {
            server.start();
        } catch (const std::exception& e) {
            return e.what();
        }
        return "started";
    };
    CHECK(start_error([](Config&) {}) == "started");
    CHECK_THAT(start_error([](Config& c) { c.udp_listen = {"localhost:3478"}; }),
               Catch::Contains("udp_listen: 'localhost:3478' is not ADDRESS:PORT"));
    CHECK_THAT(start_error([](Config& c) { c.relay_port_min = 30000, c.relay_port_max = 20000; }),
               Catch::Contains("relay ports 30000-20000 are not a range"));
    CHECK_THAT(start_error([](Config& c) { c.external_address = "edge.example.com"; }),
               Catch::Contains("external_address 'edge.example.com' is not an address"));
    CHECK_THAT(start_error([](Config& c) { c.allowed_peer_ranges = {"10.0.0.0/40"}; }),
               Catch::Contains("allowed_peer_ranges: '10.0.0.0/40'"));
    // A port someone else holds.
    StunClient holder(1);
    const std::string taken = "127.0.0.1:" + std::to_string(holder.local_port());
    CHECK_THAT(start_error([&](Config& c) { c.udp_listen = {taken}; }),
               Catch::Contains("cannot listen on udp " + taken));
}

TEST_CASE("turn relay: a flood of wrong passwords is logged a few times, not every time",
          "[turn][e2e]") {
    ScratchDir dir;
    Relay relay(dir);
    StunClient client(relay.udp_port());
    for (int i = 0; i < 30; ++i) CHECK(client.allocate("cmsturn", "wrong-password") == 401);
    CHECK(relay.process().wait_for("more refusals like this one are not logged for 10 s", 5000ms));
    CHECK(relay.process().count("401: integrity check failed for user 'cmsturn'") == 6);
    // Another refusal is its own line.
    CHECK(client.allocate("nobody", "x") == 401);
    CHECK(relay.process().wait_for("401: user 'nobody' unknown", 5000ms));
}
