// turn::Server: wires the credential store, nonces, peer policy, allocation table and listeners
// on one io_context thread, and sweeps expired allocations.
#include "turn/turn.hpp"

#include "turn/allocation_table.hpp"
#include "turn/authenticator.hpp"
#include "turn/credential_store.hpp"
#include "turn/peer_policy.hpp"
#include "turn/pushed_source.hpp"
#include "turn/request_handler.hpp"
#include "turn/tcp_listener.hpp"
#include "turn/udp_listener.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>

#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace edgeway::turn {
namespace {

namespace asio = boost::asio;

// "ADDRESS:PORT" or "[V6]:PORT"; throws naming the field.
std::pair<asio::ip::address, std::uint16_t> parse_listen(const std::string& text,
                                                         const char* field) {
    const auto colon = text.rfind(':');
    std::string host = colon == std::string::npos ? "" : text.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(host, ec);
    unsigned long port = 70000;
    try {
        if (colon != std::string::npos) port = std::stoul(text.substr(colon + 1));
    } catch (const std::exception&) {
    }
    if (ec || port > 65535)
        throw std::runtime_error(fmt::format("turn: {}: '{}' is not ADDRESS:PORT", field, text));
    return {address, static_cast<std::uint16_t>(port)};
}

void validate(const Config& config) {
    if (config.relay_port_min == 0 || config.relay_port_min > config.relay_port_max)
        throw std::runtime_error(fmt::format("turn: relay ports {}-{} are not a range",
                                             config.relay_port_min, config.relay_port_max));
    if (config.realm.empty()) throw std::runtime_error("turn: realm is empty");
    if (config.credentials == Credentials::local && config.state_directory.empty())
        throw std::runtime_error("turn: state_directory is empty");
    boost::system::error_code ec;
    asio::ip::make_address(config.relay_address, ec);
    if (ec)
        throw std::runtime_error("turn: relay_address '" + config.relay_address +
                                 "' is not an address");
    if (!config.external_address.empty()) {
        asio::ip::make_address(config.external_address, ec);
        if (ec)
            throw std::runtime_error("turn: external_address '" + config.external_address +
                                     "' is not an address");
    }
    if (config.default_lifetime > config.max_lifetime)
        throw std::runtime_error("turn: default_lifetime is longer than max_lifetime");
}

}  // namespace

struct Server::Impl {
    std::shared_ptr<const Config> config;
    Logger& log;
    std::shared_ptr<const PushedCredentials> pushed;
    asio::io_context io{1};
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
    std::thread thread;
    mutable std::mutex mutex;  // guards running (the admin thread asks allocations())
    bool running = false;

    std::unique_ptr<CredentialSource> store;
    std::unique_ptr<NonceIssuer> nonces;
    std::unique_ptr<Authenticator> auth;
    std::unique_ptr<PeerPolicy> policy;
    std::unique_ptr<AllocationTable> table;
    std::unique_ptr<RequestHandler> handler;
    std::vector<std::unique_ptr<UdpListener>> udp;
    std::vector<std::unique_ptr<TcpListener>> tcp;
    asio::steady_timer sweep{io};
    bool stopping = false;

    Impl(std::shared_ptr<const Config> c, Logger& l, std::shared_ptr<const PushedCredentials> p)
        : config(std::move(c)), log(l), pushed(std::move(p)) {}

    // The edge's own database, or the sets its cores push; throws naming what is wrong.
    std::unique_ptr<CredentialSource> open_credentials() {
        if (config->credentials == Credentials::pushed) {
            if (!pushed) throw std::logic_error("turn: pushed credentials without a feed");
            return std::make_unique<PushedSource>(pushed, log);
        }
        try {
            return std::make_unique<CredentialStore>(config->state_directory /
                                                     kCredentialDatabaseFile);
        } catch (const CredentialError& e) {
            throw std::runtime_error(std::string("turn: ") + e.what());
        }
    }

    asio::awaitable<void> sweep_loop() {
        while (!stopping) {
            sweep.expires_after(config->sweep_interval);
            auto [ec] = co_await sweep.async_wait(asio::as_tuple(asio::use_awaitable));
            if (ec || stopping) co_return;
            for (const auto& expired : table->expire(std::chrono::steady_clock::now()))
                log.info("allocation of user '{}' from {} expired; relay port {} freed",
                         expired->user(), expired->tuple().describe(), expired->port());
        }
    }
};

Server::Server(std::shared_ptr<const Config> config, Logger& log,
               std::shared_ptr<const PushedCredentials> pushed)
    : impl_(std::make_unique<Impl>(std::move(config), log, std::move(pushed))) {}

Server::~Server() {
    stop();
}

void Server::start() {
    auto& s = *impl_;
    const Config& config = *s.config;
    validate(config);
    std::vector<AddressRange> allowed;
    for (const auto& text : config.allowed_peer_ranges) allowed.push_back(parse_range(text));
    auto own = local_interface_addresses();
    for (const auto& text : config.udp_listen)
        own.push_back(parse_listen(text, "udp_listen").first);
    for (const auto& text : config.tcp_listen)
        own.push_back(parse_listen(text, "tcp_listen").first);
    own.push_back(asio::ip::make_address(config.relay_address));
    if (!config.external_address.empty())
        own.push_back(asio::ip::make_address(config.external_address));
    s.store = s.open_credentials();
    s.nonces = std::make_unique<NonceIssuer>(config.nonce_lifetime);
    s.auth = std::make_unique<Authenticator>(*s.store, config.realm, *s.nonces);
    s.policy = std::make_unique<PeerPolicy>(std::move(allowed), std::move(own));
    s.table = std::make_unique<AllocationTable>(config);
    s.handler = std::make_unique<RequestHandler>(s.io, config, s.log, *s.auth, *s.nonces, *s.table,
                                                 *s.policy);
    for (const auto& text : config.udp_listen) {
        const auto [address, port] = parse_listen(text, "udp_listen");
        s.udp.push_back(
            std::make_unique<UdpListener>(s.io, stun::Endpoint(address, port), *s.handler, s.log));
    }
    for (const auto& text : config.tcp_listen) {
        const auto [address, port] = parse_listen(text, "tcp_listen");
        s.tcp.push_back(std::make_unique<TcpListener>(s.io, asio::ip::tcp::endpoint(address, port),
                                                      *s.handler, *s.table, config, s.log));
    }
    for (auto& l : s.udp) {
        l->start();
        s.log.info("turn listening on udp {}:{}", l->local_endpoint().address().to_string(),
                   l->local_endpoint().port());
    }
    for (auto& l : s.tcp) {
        l->start();
        s.log.info("turn listening on tcp {}:{}", l->local_endpoint().address().to_string(),
                   l->local_endpoint().port());
    }
    s.log.info("turn relay ports {}-{} on {}, realm '{}', credentials: {}", config.relay_port_min,
               config.relay_port_max, config.relay_address, config.realm, s.store->where());
    if (config.credentials == Credentials::pushed && !s.pushed->load())
        s.log.info(
            "turn credentials are pushed by the cores: every user is refused (401) until a "
            "core's link brings the first set");
    asio::co_spawn(s.io, s.sweep_loop(), asio::detached);
    s.work.emplace(s.io.get_executor());
    {
        std::lock_guard lock(s.mutex);
        s.running = true;
    }
    s.thread = std::thread([&s] {
        for (;;) {
            try {
                s.io.run();
                return;
            } catch (const std::exception& e) {
                s.log.error("turn: {}", e.what());  // a bug in one handler; keep serving
            }
        }
    });
}

std::vector<std::uint16_t> Server::udp_ports() const {
    std::vector<std::uint16_t> ports;
    for (const auto& l : impl_->udp) ports.push_back(l->local_endpoint().port());
    return ports;
}

std::vector<std::uint16_t> Server::tcp_ports() const {
    std::vector<std::uint16_t> ports;
    for (const auto& l : impl_->tcp) ports.push_back(l->local_endpoint().port());
    return ports;
}

std::vector<telemetry::RelayAllocation> Server::allocations() const {
    auto& s = *impl_;
    std::promise<std::vector<telemetry::RelayAllocation>> promise;
    auto future = promise.get_future();
    {
        std::lock_guard lock(s.mutex);
        if (!s.running) return {};
        asio::post(s.io, [&] { promise.set_value(s.table->status()); });
    }
    return future.get();
}

void Server::stop() {
    auto& s = *impl_;
    {
        std::lock_guard lock(s.mutex);
        if (!s.running) return;
        s.running = false;
    }
    // Everything is closed on its own thread; the coroutines then end and run() returns.
    asio::post(s.io, [&s] {
        s.stopping = true;
        s.sweep.cancel();
        for (auto& l : s.udp) l->close();
        for (auto& l : s.tcp) l->close();
        s.table->clear();
    });
    s.work.reset();
    if (s.thread.joinable()) s.thread.join();
    s.log.info("turn relay stopped");
}

std::string CredentialLocation::describe() const {
    if (state.backend == state::Backend::etcd)
        return fmt::format("{} (prefix {})", state::describe(state.etcd), state.etcd.prefix);
    return (state_directory / kCredentialDatabaseFile).string();
}

namespace {

std::unique_ptr<CredentialStorage> open_storage(const CredentialLocation& where) {
    return open_credential_storage(where.state, where.state_directory / kCredentialDatabaseFile);
}

}  // namespace

void set_user(const CredentialLocation& where, const std::string& name, const std::string& realm,
              const std::string& password) {
    if (name.empty() || name.size() > stun::kMaxUsername)
        throw std::runtime_error("a TURN user name needs 1 to 513 bytes");
    if (password.empty()) throw std::runtime_error("the password is empty");
    open_storage(where)->set_user(name, realm, password);
}

bool remove_user(const CredentialLocation& where, const std::string& name) {
    return open_storage(where)->remove_user(name);
}

std::vector<User> list_users(const CredentialLocation& where) {
    auto store = open_storage(where);
    std::vector<User> users;
    for (auto& u : store->users()) users.push_back({u.name, u.realm, u.created_at, u.changed_at});
    return users;
}

void set_shared_secret(const CredentialLocation& where, const std::optional<std::string>& secret) {
    open_storage(where)->set_shared_secret(secret);
}

std::string describe_credential_database(const std::filesystem::path& file) {
    CredentialStore store(file);
    const auto users = store.users();
    for (const auto& user : users) store.find(user.name);  // a damaged key throws
    return fmt::format("{} TURN user{}, {}", users.size(), users.size() == 1 ? "" : "s",
                       store.shared_secret() ? "REST API secret set" : "no REST API secret");
}

}  // namespace edgeway::turn
