#include "tests/turn/turn_support.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace edgeway::turn::test {
namespace fs = std::filesystem;

ScratchDir::ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "edgeway-turn-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
}

ScratchDir::~ScratchDir() {
    if (std::uncaught_exceptions() > 0 || std::getenv("EDGEWAY_KEEP_TEST_DIRS")) return;
    std::error_code ignored;
    fs::remove_all(path_, ignored);
}

std::string read_text(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

Child::Child(const fs::path& program, const std::vector<std::string>& args, fs::path log)
    : log_(std::move(log)) {
    const int out = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (out < 0) throw std::runtime_error("cannot create " + log_.string());
    std::vector<std::string> argv_text{program.string()};
    argv_text.insert(argv_text.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_text) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        const int in = ::open("/dev/null", O_RDONLY);
        ::dup2(in, 0);
        ::dup2(out, 1);
        ::dup2(out, 2);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(out);
    if (pid_ < 0) throw std::runtime_error("fork failed");
}

Child::~Child() {
    if (pid_ > 0 && !status_) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
}

bool Child::wait_for(const std::string& text, Millis timeout, std::size_t nth) const {
    return wait_until([&] { return count(text) >= nth; }, timeout);
}

std::size_t Child::count(const std::string& text) const {
    const std::string all = output();
    std::size_t n = 0;
    for (auto pos = all.find(text); pos != std::string::npos; pos = all.find(text, pos + 1)) ++n;
    return n;
}

std::optional<int> Child::wait_exit(Millis timeout) {
    if (status_) return status_;
    wait_until(
        [&] {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_)
                status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            return status_.has_value();
        },
        timeout);
    return status_;
}

int Child::terminate() {
    if (!status_) ::kill(pid_, SIGTERM);
    if (auto code = wait_exit(5000ms)) return *code;
    ::kill(pid_, SIGKILL);
    return wait_exit(5000ms).value_or(-1);
}

void Child::signal(int signo) {
    ::kill(pid_, signo);
}

RunResult run(const fs::path& program, const std::vector<std::string>& args, const fs::path& log,
              Millis timeout) {
    Child child(program, args, log);
    RunResult result;
    result.exit_code = child.wait_exit(timeout);
    result.output = child.output();
    return result;
}

namespace {

int bound_udp_socket(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

std::uint16_t port_of(int fd) {
    sockaddr_in address{};
    socklen_t size = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
    return ntohs(address.sin_port);
}

}  // namespace

std::uint16_t free_udp_port() {
    const int fd = bound_udp_socket(0);
    const auto port = port_of(fd);
    ::close(fd);
    return port;
}

std::uint16_t free_udp_ports(unsigned count) {
    // Random starts in a range the kernel does not hand out for port 0 (below 32768), so
    // parallel tests and ephemeral ports do not collide.
    std::random_device seed;
    std::mt19937 random(seed());
    std::uniform_int_distribution<unsigned> start(20000, 32000 - count);
    for (int attempt = 0; attempt < 100; ++attempt) {
        const auto first = static_cast<std::uint16_t>(start(random));
        std::vector<int> fds;
        for (unsigned i = 0; i < count; ++i) {
            const int fd = bound_udp_socket(static_cast<std::uint16_t>(first + i));
            if (fd < 0) break;
            fds.push_back(fd);
        }
        const bool all = fds.size() == count;
        for (int fd : fds) ::close(fd);
        if (all) return first;
    }
    throw std::runtime_error("no free range of UDP ports");
}

Relay::Relay(const ScratchDir& dir, RelayOptions options) {
    relay_ports_ = options.relay_ports;
    first_relay_port_ = free_udp_ports(relay_ports_);
    std::vector<std::string> args{"--state-dir",
                                  (dir / "state").string(),
                                  "--udp",
                                  "127.0.0.1:0",
                                  "--tcp",
                                  "127.0.0.1:0",
                                  "--ports",
                                  std::to_string(first_relay_port_) + "-" +
                                      std::to_string(first_relay_port_ + relay_ports_ - 1),
                                  "--sweep-ms",
                                  "100",
                                  "--log-level",
                                  "debug"};
    for (const auto& user : options.users) args.insert(args.end(), {"--user", user});
    if (options.allow_loopback_peers) args.insert(args.end(), {"--allow-peers", "127.0.0.0/8"});
    if (options.lifetime_ms)
        args.insert(args.end(), {"--lifetime-ms", std::to_string(*options.lifetime_ms)});
    if (options.max_allocations)
        args.insert(args.end(), {"--max-allocations", std::to_string(*options.max_allocations)});
    if (options.max_per_user)
        args.insert(args.end(), {"--max-per-user", std::to_string(*options.max_per_user)});
    args.insert(args.end(), options.extra.begin(), options.extra.end());
    process_ = std::make_unique<Child>(TURN_TEST_SERVER, args, dir / "relay.log");
    if (!process_->wait_for("turn relay ports", 10000ms))
        throw std::runtime_error("the relay did not start:\n" + process_->output());
    const std::string log = process_->output();
    std::smatch match;
    if (std::regex_search(log, match, std::regex("listening on udp 127\\.0\\.0\\.1:(\\d+)")))
        udp_port_ = static_cast<std::uint16_t>(std::stoi(match[1]));
    if (std::regex_search(log, match, std::regex("listening on tcp 127\\.0\\.0\\.1:(\\d+)")))
        tcp_port_ = static_cast<std::uint16_t>(std::stoi(match[1]));
}

StunClient::StunClient(std::uint16_t server_port) : server_port_(server_port) {
    fd_ = bound_udp_socket(0);
    // Room for the bursts the tests provoke (the default holds about 256 small datagrams).
    const int size = 2 << 20;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(server_port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
}

StunClient::~StunClient() {
    ::close(fd_);
}

void StunClient::send(stun::ByteView bytes) {
    ::send(fd_, bytes.data(), bytes.size(), 0);
}

std::optional<stun::Bytes> StunClient::receive(Millis timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
    stun::Bytes buffer(65536);
    const auto n = ::recv(fd_, buffer.data(), buffer.size(), 0);
    if (n < 0) return std::nullopt;
    buffer.resize(static_cast<std::size_t>(n));
    return buffer;
}

std::uint16_t StunClient::local_port() const {
    return port_of(fd_);
}

stun::TransactionId StunClient::new_transaction() {
    stun::TransactionId id{};
    const auto n = ++counter_;
    for (int i = 0; i < 4; ++i) id[i] = static_cast<std::uint8_t>(n >> (8 * i));
    id[11] = 0x5A;
    return id;
}

stun::Bytes StunClient::request(const stun::Bytes& message) {
    send(message);
    for (;;) {
        auto reply = receive();
        if (!reply) throw std::runtime_error("no response from the relay");
        // Skip anything that is not the answer (Data indications, late retransmissions).
        if (reply->size() >= 20 &&
            std::equal(message.begin() + 8, message.begin() + 20, reply->begin() + 8))
            return *reply;
    }
}

unsigned error_code_of(stun::ByteView response) {
    auto parsed = stun::parse(response);
    if (parsed.error != stun::ParseError::ok) return 1000;
    if (parsed.message->cls == stun::Class::success) return 0;
    const auto* error = parsed.message->find(stun::attr::error_code);
    if (!error) return 1000;
    const auto code = stun::decode_error_code(error->value);
    return code ? code->code : 1000;
}

unsigned StunClient::allocate(const std::string& user, const std::string& password,
                              stun::Endpoint* relayed, const std::string& realm) {
    stun::MessageBuilder first(stun::method::allocate, stun::Class::request, new_transaction());
    first.add_u32(stun::attr::requested_transport, 17u << 24);
    const auto challenge = request(first.bytes());
    auto parsed = stun::parse(challenge);
    if (parsed.error != stun::ParseError::ok) return 1000;
    const auto* nonce = parsed.message->find(stun::attr::nonce);
    if (error_code_of(challenge) != 401 || !nonce) return error_code_of(challenge);
    user_ = user;
    realm_ = realm;
    nonce_.assign(reinterpret_cast<const char*>(nonce->value.data()), nonce->value.size());
    key_ = stun::long_term_key(user, realm, password);

    stun::MessageBuilder second(stun::method::allocate, stun::Class::request, new_transaction());
    second.add_u32(stun::attr::requested_transport, 17u << 24);
    second.add_text(stun::attr::username, user_);
    second.add_text(stun::attr::realm, realm_);
    second.add_text(stun::attr::nonce, nonce_);
    second.add_integrity(key_);
    second.add_fingerprint();
    const auto response = request(second.bytes());
    const unsigned code = error_code_of(response);
    if (code == 0 && relayed) {
        auto ok = stun::parse(response);
        const auto* attribute = ok.message->find(stun::attr::xor_relayed_address);
        if (attribute)
            *relayed = *stun::decode_xor_address(attribute->value, ok.message->transaction_id);
    }
    return code;
}

unsigned StunClient::authenticated(std::uint16_t method,
                                   const std::function<void(stun::MessageBuilder&)>& fill) {
    stun::MessageBuilder message(method, stun::Class::request, new_transaction());
    fill(message);
    message.add_text(stun::attr::username, user_);
    message.add_text(stun::attr::realm, realm_);
    message.add_text(stun::attr::nonce, nonce_);
    message.add_integrity(key_);
    return error_code_of(request(message.bytes()));
}

}  // namespace edgeway::turn::test
