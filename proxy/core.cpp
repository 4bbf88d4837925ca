// The core process: it dials every configured edge (links_per_edge links each, spread over the
// worker threads), redials with backoff when a link fails, and forwards each stream that arrives
// on a link to the web bridge.
#include "proxy/allowlist_feed.hpp"
#include "proxy/allowlist_service.hpp"
#include "proxy/backoff.hpp"
#include "proxy/link_board.hpp"
#include "proxy/link_session.hpp"
#include "proxy/listen.hpp"
#include "proxy/proxy.hpp"
#include "proxy/upstream.hpp"

#include "tls/tls.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <random>
#include <thread>

namespace edgeway::proxy {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;

namespace {

// A link that stayed up this long is considered healthy: the next failure starts a fresh backoff.
constexpr std::chrono::seconds kHealthyLink{10};
constexpr std::chrono::seconds kDialTimeout{10};

struct CoreWorker {
    asio::io_context io{1};
    std::vector<std::shared_ptr<LinkSession>> links;  // used on io's thread only
    UpstreamPool pool;                                // likewise
    Broadcast rules_changed{io.get_executor()};       // wakes the allow-list feeds
    bool stopping = false;
};

}  // namespace

struct Core::Impl {
    CoreConfig config;
    Logger& log;
    std::vector<std::unique_ptr<CoreWorker>> workers;
    std::shared_ptr<asio::ssl::context> link_tls;
    AllowlistService allowlist;
    std::unique_ptr<UpstreamContext> upstream;
    std::vector<std::thread> threads;
    LinkSession::Settings link_settings;
    telemetry::RequestLog requests;
    LinkBoard board{[this] { return allowlist.domains(); }};

    Impl(CoreConfig c, Logger& l) : config(std::move(c)), log(l), allowlist(config, log) {
        link_settings.timing = config.link;
    }

    // One TLS connection to the edge, or an empty optional with the reason.
    awaitable<std::optional<TlsSocket>> dial(const EdgeTarget& edge, std::string& reason) {
        auto executor = co_await asio::this_coro::executor;
        const auto colon = edge.address.rfind(':');
        std::string host = edge.address.substr(0, colon);
        if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
        tcp::resolver resolver(executor);
        auto [resolve_error, endpoints] = co_await resolver.async_resolve(
            host, edge.address.substr(colon + 1), asio::as_tuple(use_awaitable));
        if (resolve_error) {
            reason = "cannot resolve: " + resolve_error.message();
            co_return std::nullopt;
        }
        boost::beast::tcp_stream connection(executor);
        connection.expires_after(kDialTimeout);
        auto [connect_error, endpoint] =
            co_await connection.async_connect(endpoints, asio::as_tuple(use_awaitable));
        if (connect_error) {
            reason = "cannot connect: " + connect_error.message();
            co_return std::nullopt;
        }
        connection.socket().set_option(tcp::no_delay(true));
        TlsSocket tls(connection.release_socket(), *link_tls);
        tls.expires_after(kDialTimeout);
        tls::prepare_client(tls.native_handle(), edge.server_name, true);
        auto [handshake_error] = co_await tls.async_handshake(asio::ssl::stream_base::client,
                                                              asio::as_tuple(use_awaitable));
        if (handshake_error) {
            reason = "TLS handshake failed: " + tls::describe(handshake_error, tls.native_handle());
            co_return std::nullopt;
        }
        if (tls::negotiated_alpn(tls.native_handle()) != "h2") {
            reason = "the edge did not agree to HTTP/2 (ALPN h2)";
            co_return std::nullopt;
        }
        co_return std::optional<TlsSocket>(std::move(tls));
    }

    // Keeps one link to one edge up for as long as the core runs.
    awaitable<void> keep_link(CoreWorker& worker, EdgeTarget edge, unsigned index) {
        Backoff backoff(config.link.reconnect_min, config.link.reconnect_max,
                        std::random_device{}() ^ index);
        asio::steady_timer pause(worker.io);
        const std::string key = fmt::format("{}#{}", edge.address, index);
        board.connecting(key, edge.address, edge.server_name);
        while (!worker.stopping) {
            std::string reason;
            auto tls = co_await dial(edge, reason);
            if (tls) {
                auto link = std::make_shared<LinkSession>(std::move(*tls), LinkSession::Role::core,
                                                          link_settings, log, edge.address);
                link->set_ready_handler(
                    [this, key, name = edge.server_name, weak = std::weak_ptr(link)] {
                        if (auto up = weak.lock()) board.active(key, name, up);
                    });
                link->set_stream_handler([this, &worker](std::shared_ptr<LinkStream> stream) {
                    auto on_done = [this](std::exception_ptr error) { log_failure(error); };
                    if (is_allowlist_feed(*stream))
                        asio::co_spawn(worker.io,
                                       serve_allowlist_feed(std::move(stream), allowlist.rules(),
                                                            worker.rules_changed),
                                       on_done);
                    else
                        asio::co_spawn(worker.io,
                                       forward_upstream(*upstream, worker.pool, std::move(stream)),
                                       on_done);
                });
                worker.links.push_back(link);
                const auto up_since = std::chrono::steady_clock::now();
                reason = co_await link->run();
                std::erase(worker.links, link);
                if (std::chrono::steady_clock::now() - up_since >= kHealthyLink) backoff.reset();
            }
            if (worker.stopping) break;
            board.failed(key, reason);
            const auto delay = backoff.next();
            if (tls)
                log.info("link to {} lost ({}); redialling in {} ms", edge.address, reason,
                         delay.count());
            else
                log.warn("link to {} failed: {}; retrying in {} ms", edge.address, reason,
                         delay.count());
            pause.expires_after(delay);
            co_await pause.async_wait(asio::as_tuple(use_awaitable));
        }
    }

    void log_failure(std::exception_ptr error) {
        if (!error) return;
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& e) {
            log.warn("stream ended: {}", e.what());
        }
    }

    void start() {
        link_tls = tls::make_client_context(
            {config.edge_ca, false, config.link_certificate, config.link_private_key, {"h2"}});
        auto webbridge_tls = tls::make_client_context(
            {config.webbridge_ca, config.webbridge_insecure, {}, {}, {"http/1.1"}});
        if (config.webbridge_insecure)
            log.warn(
                "webbridge_tls.insecure_skip_verify is set: the web bridge's certificate is "
                "NOT verified (lab use only)");
        upstream = std::make_unique<UpstreamContext>(UpstreamContext{
            config, log, webbridge_tls, allowlist.rules(), allowlist.resolver(), requests});
        if (allowlist.resolver().lab())
            log.warn("lab resolver in use (resolve / hosts_file): the inside DNS is not asked");

        const unsigned count = std::max(1u, config.workers);
        for (unsigned i = 0; i < count; ++i) workers.push_back(std::make_unique<CoreWorker>());
        for (auto& worker : workers)
            allowlist.on_publish(
                [w = worker.get()] { asio::post(w->io, [w] { w->rules_changed.notify(); }); });
        allowlist.start();
        unsigned index = 0;
        for (const auto& edge : config.edges) {
            for (unsigned n = 0; n < config.links_per_edge; ++n, ++index) {
                CoreWorker& worker = *workers[index % workers.size()];
                asio::co_spawn(worker.io, keep_link(worker, edge, index),
                               [this](std::exception_ptr error) { log_failure(error); });
            }
        }
        for (auto& worker : workers) threads.emplace_back([w = worker.get()] { w->io.run(); });
    }

    void stop() {
        for (auto& worker_ptr : workers) {
            CoreWorker& worker = *worker_ptr;
            asio::post(worker.io, [&worker] {
                worker.stopping = true;
                for (auto& link : worker.links) link->close("the core is shutting down");
                worker.io.stop();
            });
        }
        for (auto& thread : threads) thread.join();
        threads.clear();
        allowlist.stop();
    }
};

Core::Core(CoreConfig config, Logger& log)
    : impl_(std::make_unique<Impl>(std::move(config), log)) {}
Core::~Core() {
    stop();
}
void Core::start() {
    impl_->start();
}
void Core::stop() {
    impl_->stop();
}
std::vector<telemetry::LinkStatus> Core::links() const {
    return impl_->board.snapshot();
}
const telemetry::RequestLog& Core::requests() const {
    return impl_->requests;
}

}  // namespace edgeway::proxy
