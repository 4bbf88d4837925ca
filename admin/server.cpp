// The admin listener: a Beast coroutine server (TLS only, HTTP/1.1 keep-alive), in the style of
// Beast's server-flex-awaitable example. One io_context on one thread: every connection and
// every handler runs there, so the stores and the session table need no locks, and nothing the
// admin does can take a worker thread from the traffic on 443.
#include "admin/admin.hpp"

#include "admin/admin_state.hpp"
#include "admin/config_api.hpp"
#include "admin/first_account.hpp"
#include "admin/listener_control.hpp"
#include "admin/password.hpp"
#include "admin/router.hpp"
#include "admin/secrets.hpp"

#include "tls/tls.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <atomic>
#include <thread>

namespace edgeway::admin {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;
using Stream = beast::ssl_stream<beast::tcp_stream>;

constexpr std::size_t kDrainBytes = 1024 * 1024;
constexpr auto kDrainTime = std::chrono::seconds(2);
constexpr std::chrono::milliseconds kFirstAccountRetry{1000};
constexpr std::chrono::milliseconds kFirstAccountRetryMax{8000};

// Throws std::runtime_error with the reason.
tcp::endpoint parse_endpoint(const std::string& address) {
    const auto colon = address.rfind(':');
    if (colon == std::string::npos) throw std::runtime_error("bad admin address " + address);
    std::string host = address.substr(0, colon);
    if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
    asio::io_context io;
    tcp::resolver resolver(io);
    boost::system::error_code ec;
    auto results = resolver.resolve(host, address.substr(colon + 1), tcp::resolver::passive, ec);
    if (ec || results.empty())
        throw std::runtime_error("cannot resolve the admin address " + address + ": " +
                                 ec.message());
    return results.begin()->endpoint();
}

std::string to_string(const tcp::endpoint& endpoint) {
    const auto address = endpoint.address();
    return address.is_v6() ? fmt::format("[{}]:{}", address.to_string(), endpoint.port())
                           : fmt::format("{}:{}", address.to_string(), endpoint.port());
}

// An answer for a request that could not be read whole; the connection closes after it.
Response refusal(http::status status, std::string_view message) {
    Response response = error_response(status, message);
    add_security_headers(response);
    response.keep_alive(false);
    response.prepare_payload();
    return response;
}

}  // namespace

struct Server::Impl : ListenerControl {
    Impl(ServerConfig c, Logger& l) : config(std::move(c)), log(l) {}

    ServerConfig config;
    Logger& log;
    std::optional<std::string> first_password;
    bool first_account_pending = false;  // the store did not answer at start
    std::unique_ptr<AdminState> state;
    std::unique_ptr<Router> router;
    // Each connection keeps the context it started with: an uploaded certificate applies to
    // new connections only.
    std::shared_ptr<asio::ssl::context> tls_context;
    asio::io_context io{1};
    // The listening socket; replaced by rebind(). Its accept loop holds it too.
    std::shared_ptr<tcp::acceptor> acceptor;
    std::atomic<std::uint16_t> port = 0;
    std::size_t connections = 0;
    std::thread thread;

    void open_state() {
        state = std::make_unique<AdminState>(
            open_account_storage(config.state, config.state_directory / kAccountDatabaseFile));
        state->decoy_hash = hash_password(to_base64url(random_bytes(16)));
        try {
            first_password = create_and_announce_first_account();
        } catch (const state::Unavailable& e) {
            // A core of a cluster started while etcd is down still serves; its admin answers
            // 503 to logins until the store does, and then it may be the one that has to
            // create the cluster's first account.
            log.error(
                "cannot read the admin accounts from {}: {}; asking again until the store "
                "answers",
                state->accounts.where(), e.what());
            first_account_pending = true;
        }
        if (!config.rule_database.empty())
            state->rules = allowlist::open_rule_storage(config.state, config.rule_database);
        router = std::make_unique<Router>(*state, log, config, *this);
    }

    std::optional<std::string> create_and_announce_first_account() {
        auto password = create_first_account(state->accounts);
        if (password)
            // Printed this once: only its hash is stored. `edgeway admin passwd` replaces it.
            log.warn("first start: admin account \"{}\" created with password: {}", kFirstAccount,
                     *password);
        return password;
    }

    // Until the store answers: asks again, 1 s after the failure and then less often.
    awaitable<void> retry_first_account() {
        asio::steady_timer timer(io);
        std::chrono::milliseconds delay = kFirstAccountRetry;
        for (;;) {
            timer.expires_after(delay);
            auto [ec] = co_await timer.async_wait(asio::as_tuple(use_awaitable));
            if (ec) co_return;
            try {
                create_and_announce_first_account();
                log.info("the admin accounts are readable again from {}", state->accounts.where());
                co_return;
            } catch (const state::Unavailable&) {
                delay = std::min(delay * 2, kFirstAccountRetryMax);
            }
        }
    }

    // A bound, listening acceptor, or the OS's reason.
    std::shared_ptr<tcp::acceptor> open_acceptor(const std::string& address, std::string& error,
                                                 tcp::endpoint* resolved = nullptr) {
        tcp::endpoint endpoint;
        try {
            endpoint = parse_endpoint(address);
        } catch (const std::exception& e) {
            error = e.what();
            return nullptr;
        }
        if (resolved) *resolved = endpoint;
        auto result = std::make_shared<tcp::acceptor>(io);
        boost::system::error_code ec;
        result->open(endpoint.protocol(), ec);
        if (!ec) result->set_option(tcp::acceptor::reuse_address(true), ec);
        if (!ec) result->bind(endpoint, ec);
        if (!ec) result->listen(asio::socket_base::max_listen_connections, ec);
        if (ec) {
            error = fmt::format("{}: {}", to_string(endpoint), ec.message());
            return nullptr;
        }
        return result;
    }

    // At start: the address set through the API (admin.db) wins over the configuration file's;
    // if it cannot be bound any more, the file's is used so the appliance stays reachable.
    void bind() {
        std::string error;
        if (const auto stored = state->accounts.setting(kListenSetting)) {
            acceptor = open_acceptor(*stored, error);
            if (!acceptor)
                log.error(
                    "cannot listen for admin on {} (set through the API): {}; using the "
                    "configuration file's {}",
                    *stored, error, config.listen);
        }
        if (!acceptor) acceptor = open_acceptor(config.listen, error);
        if (!acceptor) throw std::runtime_error("cannot listen for admin on " + error);
        port = acceptor->local_endpoint().port();
        log.info("admin listening on {}", to_string(acceptor->local_endpoint()));
    }

    std::string bound_address() const override {
        boost::system::error_code ec;
        const auto endpoint = acceptor->local_endpoint(ec);
        return ec ? std::string() : to_string(endpoint);
    }

    Rebound rebind(const std::string& address) override {
        std::string error;
        tcp::endpoint wanted;
        auto fresh = open_acceptor(address, error, &wanted);
        // The same port on another address (0.0.0.0:445 -> 10.0.0.5:445) overlaps the current
        // listener, which must go first. If the new address then fails too, the old one is
        // bound again (nothing else can have taken the port in between but another process).
        const auto current = acceptor->local_endpoint();
        if (!fresh && wanted.port() == current.port() && wanted.port() != 0) {
            boost::system::error_code ignored;
            acceptor->close(ignored);
            fresh = open_acceptor(address, error);
            if (!fresh) {
                std::string again;
                acceptor = open_acceptor(to_string(current), again);
                if (!acceptor)
                    throw std::runtime_error("the admin listener could not be restored on " +
                                             to_string(current) + ": " + again);
                asio::co_spawn(io, accept_loop(acceptor), asio::detached);
            }
        }
        if (!fresh) return {"", error};
        const std::string before = bound_address();
        std::swap(acceptor, fresh);
        port = acceptor->local_endpoint().port();
        asio::co_spawn(io, accept_loop(acceptor), asio::detached);
        // The old acceptor closes after this handler: the request that moved the listener is
        // answered on its connection, which (like every open one) is not affected.
        asio::post(io, [old = std::move(fresh)] {
            boost::system::error_code ignored;
            old->close(ignored);
        });
        log.info("admin listening on {} (moved from {})", bound_address(), before);
        return {bound_address(), ""};
    }

    void replace_tls_context(std::shared_ptr<asio::ssl::context> context) override {
        tls_context = std::move(context);
        log.info("admin certificate replaced for new connections");
    }

    awaitable<void> accept_loop(std::shared_ptr<tcp::acceptor> listener) {
        for (;;) {
            auto [ec, socket] = co_await listener->async_accept(asio::make_strand(io),
                                                                asio::as_tuple(use_awaitable));
            if (ec == asio::error::operation_aborted || !listener->is_open()) co_return;
            if (ec) {
                log.warn("admin accept failed: {}", ec.message());
                continue;
            }
            if (connections >= config.limits.max_connections) {
                log.warn("admin: {} connections open, closing a new one", connections);
                continue;  // the socket closes as it goes out of scope
            }
            ++connections;
            auto executor = socket.get_executor();
            asio::co_spawn(executor, serve(std::move(socket)), [this](std::exception_ptr error) {
                --connections;
                if (!error) return;
                try {
                    std::rethrow_exception(error);
                } catch (const std::exception& e) {
                    log.warn("admin connection failed: {}", e.what());
                }
            });
        }
    }

    // After refusing a request that was not read whole, read and drop what the client is still
    // sending (bounded in time and size) before closing: closing with unread bytes would reset
    // the connection, and the client could lose the answer that says what was wrong.
    static awaitable<void> drain(Stream& stream) {
        beast::flat_buffer discard;
        std::size_t total = 0;
        stream.next_layer().expires_after(kDrainTime);
        while (total < kDrainBytes) {
            auto [ec, n] = co_await stream.async_read_some(discard.prepare(16 * 1024),
                                                           asio::as_tuple(use_awaitable));
            if (ec) break;
            total += n;
        }
    }

    awaitable<void> serve(tcp::socket socket) {
        boost::system::error_code peer_ec;
        const auto peer = socket.remote_endpoint(peer_ec);
        const RequestContext context{peer_ec ? "unknown" : peer.address().to_string()};
        const auto context_of_connection = tls_context;
        Stream stream(beast::tcp_stream(std::move(socket)), *context_of_connection);
        const Limits& limits = config.limits;

        stream.next_layer().expires_after(limits.handshake_timeout);
        auto [hs_ec] = co_await stream.async_handshake(asio::ssl::stream_base::server,
                                                       asio::as_tuple(use_awaitable));
        if (hs_ec) {
            log.debug("admin tls handshake from {} failed: {}", context.client,
                      tls::describe(hs_ec, stream.native_handle()));
            co_return;
        }
        beast::flat_buffer buffer;
        for (bool first = true;; first = false) {
            // Idle between requests for up to the keep-alive time; the header timeout starts
            // with the first byte of the next request.
            if (!first && buffer.size() == 0) {
                stream.next_layer().expires_after(limits.keepalive_timeout);
                auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096),
                                                               asio::as_tuple(use_awaitable));
                if (ec) break;
                buffer.commit(n);
            }
            http::request_parser<http::string_body> parser;
            parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
            parser.body_limit(limits.max_body_bytes);
            stream.next_layer().expires_after(limits.header_timeout);
            auto [ec, n] = co_await http::async_read_header(stream, buffer, parser,
                                                            asio::as_tuple(use_awaitable));
            if (!ec && !parser.is_done()) {
                stream.next_layer().expires_after(limits.body_timeout);
                std::tie(ec, n) = co_await http::async_read(stream, buffer, parser,
                                                            asio::as_tuple(use_awaitable));
            }
            Response response;
            if (ec == http::error::end_of_stream || ec == asio::error::eof ||
                ec == asio::ssl::error::stream_truncated || ec == beast::error::timeout) {
                break;  // closed, or silent too long (Beast has closed the socket already)
            } else if (ec == http::error::header_limit) {
                response = refusal(http::status::request_header_fields_too_large,
                                   fmt::format("The request head is larger than {} bytes.",
                                               limits.max_header_bytes));
            } else if (ec == http::error::body_limit) {
                response = refusal(http::status::payload_too_large,
                                   fmt::format("The request body is larger than {} bytes.",
                                               limits.max_body_bytes));
            } else if (ec) {
                response = refusal(http::status::bad_request,
                                   "The request is not valid HTTP/1.1: " + ec.message() + ".");
            } else {
                const Request& request = parser.get();
                response = router->handle(request, context);
                response.keep_alive(request.keep_alive());
                response.prepare_payload();
                if (request.method() == http::verb::head) response.body().clear();
                log.debug("admin {} {} from {}: {}", std::string(request.method_string()),
                          std::string(request.target()), context.client, response.result_int());
            }
            stream.next_layer().expires_after(limits.write_timeout);
            auto [write_ec, written] =
                co_await http::async_write(stream, response, asio::as_tuple(use_awaitable));
            if (write_ec) break;
            if (ec) co_await drain(stream);
            if (!response.keep_alive()) break;
        }
        stream.next_layer().expires_after(std::chrono::seconds(2));
        co_await stream.async_shutdown(asio::as_tuple(use_awaitable));
    }
};

Server::Server(ServerConfig config, Logger& log)
    : impl_(std::make_unique<Impl>(std::move(config), log)) {}

Server::~Server() {
    stop();
}

void Server::start() {
    Impl& impl = *impl_;
    impl.tls_context = tls::make_server_context(
        {impl.config.certificate, impl.config.private_key, {}, {"http/1.1"}});
    impl.open_state();
    impl.bind();
    asio::co_spawn(impl.io, impl.accept_loop(impl.acceptor), asio::detached);
    if (impl.first_account_pending)
        asio::co_spawn(impl.io, impl.retry_first_account(), asio::detached);
    impl.thread = std::thread([&impl] { impl.io.run(); });
}

std::uint16_t Server::port() const {
    return impl_->port;
}

const std::optional<std::string>& Server::first_start_password() const {
    return impl_->first_password;
}

void Server::reload_certificate() {
    Impl& impl = *impl_;
    auto context = tls::make_server_context(
        {impl.config.certificate, impl.config.private_key, {}, {"http/1.1"}});
    asio::post(impl.io, [&impl, context = std::move(context)]() mutable {
        impl.replace_tls_context(context);
    });
    impl.log.info("admin certificate reloaded from {}", impl.config.certificate.string());
}

void Server::stop() {
    Impl& impl = *impl_;
    if (!impl.thread.joinable()) return;
    asio::post(impl.io, [&impl] {
        boost::system::error_code ignored;
        impl.acceptor->close(ignored);
        impl.io.stop();  // open connections are dropped with the io_context
    });
    impl.thread.join();
}

}  // namespace edgeway::admin
