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
#include "proxy/reload_report.hpp"
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

// One link the core keeps to one edge (links_per_edge of them per edge): dialled, redialled
// after a failure, until the edge leaves the configuration. Used on its worker's thread only.
struct LinkKeeper {
    LinkKeeper(CoreWorker& w, EdgeTarget e, std::string k)
        : worker(w), edge(std::move(e)), key(std::move(k)), pause(w.io) {}
    CoreWorker& worker;
    const EdgeTarget edge;
    const std::string key;  // "address#n", the status board's row
    bool retired = false;   // the edge (or this link of it) was removed by a reload
    std::shared_ptr<LinkSession> link;
    asio::steady_timer pause;  // between dials
};

// The keepers a configuration asks for: "address#n" for n < links_per_edge, for every edge.
std::map<std::string, EdgeTarget> wanted_links(const CoreConfig& config) {
    std::map<std::string, EdgeTarget> wanted;
    for (const auto& edge : config.edges)
        for (unsigned n = 0; n < config.links_per_edge; ++n)
            wanted.emplace(fmt::format("{}#{}", edge.address, n), edge);
    return wanted;
}

}  // namespace

struct Core::Impl {
    LiveConfig<CoreConfig> config;
    Logger& log;
    std::vector<std::unique_ptr<CoreWorker>> workers;
    // Swapped whole on reload: the next dial takes the current one.
    std::atomic<std::shared_ptr<asio::ssl::context>> link_tls;
    AllowlistService allowlist;
    std::unique_ptr<UpstreamContext> upstream;
    std::vector<std::thread> threads;
    // The links kept, by key. Changed by start() and reload() only (one caller at a time).
    std::map<std::string, std::shared_ptr<LinkKeeper>> keepers;
    unsigned next_worker = 0;  // keepers are spread over the workers in turn
    telemetry::RequestLog requests;
    LinkBoard board{[this] { return allowlist.domains(); }};

    Impl(CoreConfig c, Logger& l) : config(std::move(c)), log(l), allowlist(config, log) {}

    static std::shared_ptr<asio::ssl::context> make_link_context(const CoreConfig& c) {
        return tls::make_client_context(
            {c.edge_ca, false, c.link_certificate, c.link_private_key, {"h2"}});
    }
    static std::shared_ptr<asio::ssl::context> make_webbridge_context(const CoreConfig& c) {
        return tls::make_client_context(
            {c.webbridge_ca, c.webbridge_insecure, {}, {}, {"http/1.1"}});
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
        TlsSocket tls(connection.release_socket(), *link_tls.load());
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

    // Keeps one link to one edge up for as long as the core runs and the edge is configured.
    awaitable<void> keep_link(std::shared_ptr<LinkKeeper> keeper) {
        CoreWorker& worker = keeper->worker;
        const EdgeTarget& edge = keeper->edge;
        const std::string& key = keeper->key;
        const auto timing = config.get()->link;
        Backoff backoff(
            timing.reconnect_min, timing.reconnect_max,
            static_cast<unsigned>(std::random_device{}() ^ std::hash<std::string>{}(key)));
        board.connecting(key, edge.address, edge.server_name);
        while (!worker.stopping && !keeper->retired) {
            std::string reason;
            auto tls = co_await dial(edge, reason);
            if (tls && keeper->retired) break;  // removed while dialling
            if (tls) {
                LinkSession::Settings settings;
                settings.timing = config.get()->link;
                auto link = std::make_shared<LinkSession>(std::move(*tls), LinkSession::Role::core,
                                                          settings, log, edge.address);
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
                keeper->link = link;
                const auto up_since = std::chrono::steady_clock::now();
                reason = co_await link->run();
                keeper->link.reset();
                std::erase(worker.links, link);
                if (std::chrono::steady_clock::now() - up_since >= kHealthyLink) backoff.reset();
            }
            if (worker.stopping || keeper->retired) break;
            board.failed(key, reason);
            const auto delay = backoff.next();
            if (tls)
                log.info("link to {} lost ({}); redialling in {} ms", edge.address, reason,
                         delay.count());
            else
                log.warn("link to {} failed: {}; retrying in {} ms", edge.address, reason,
                         delay.count());
            keeper->pause.expires_after(delay);
            co_await keeper->pause.async_wait(asio::as_tuple(use_awaitable));
        }
        if (keeper->retired) {
            board.remove(key);
            log.info("link {} closed: its edge is no longer configured", key);
        }
    }

    void add_keeper(const std::string& key, const EdgeTarget& edge) {
        CoreWorker& worker = *workers[next_worker++ % workers.size()];
        auto keeper = std::make_shared<LinkKeeper>(worker, edge, key);
        keepers.emplace(key, keeper);
        asio::co_spawn(worker.io, keep_link(std::move(keeper)),
                       [this](std::exception_ptr error) { log_failure(error); });
    }

    // On its worker's thread: the keeper stops at its next step, and its link closes now.
    void retire_keeper(const std::shared_ptr<LinkKeeper>& keeper) {
        asio::post(keeper->worker.io, [keeper] {
            keeper->retired = true;
            keeper->pause.cancel();
            if (keeper->link) keeper->link->close("the edge was removed from the configuration");
        });
    }

    // Dials the links the configuration asks for that are not kept yet, and retires the rest.
    // Same key, other server name: the link is made anew.
    void update_keepers(const CoreConfig& next) {
        const auto wanted = wanted_links(next);
        for (auto it = keepers.begin(); it != keepers.end();) {
            auto want = wanted.find(it->first);
            if (want != wanted.end() && want->second == it->second->edge) {
                ++it;
                continue;
            }
            retire_keeper(it->second);
            it = keepers.erase(it);
        }
        for (const auto& [key, edge] : wanted)
            if (!keepers.contains(key)) add_keeper(key, edge);
    }

    void log_failure(std::exception_ptr error) {
        if (!error) return;
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& e) {
            log.warn("stream ended: {}", e.what());
        }
    }

    void warn_lab_settings(const CoreConfig& c) {
        if (c.webbridge_insecure)
            log.warn(
                "webbridge_tls.insecure_skip_verify is set: the web bridge's certificate is "
                "NOT verified (lab use only)");
        if (!c.hosts_file.empty() || !c.resolve.empty())
            log.warn("lab resolver in use (resolve / hosts_file): the inside DNS is not asked");
    }

    void start() {
        const auto initial = config.get();
        link_tls = make_link_context(*initial);
        upstream =
            std::make_unique<UpstreamContext>(config, log, make_webbridge_context(*initial),
                                              allowlist.rules(), allowlist.resolver(), requests);
        warn_lab_settings(*initial);

        const unsigned count = std::max(1u, initial->workers);
        for (unsigned i = 0; i < count; ++i) workers.push_back(std::make_unique<CoreWorker>());
        for (auto& worker : workers)
            allowlist.on_publish(
                [w = worker.get()] { asio::post(w->io, [w] { w->rules_changed.notify(); }); });
        allowlist.start();
        update_keepers(*initial);
        for (auto& worker : workers) threads.emplace_back([w = worker.get()] { w->io.run(); });
    }

    ReloadReport reload(CoreConfig next) {
        if (!upstream) throw std::runtime_error("the core is not running");
        const auto running = config.get();
        ReloadReport report;
        keep_for_restart(report, "workers", running->workers, next.workers);
        keep_for_restart(report, "state_directory", running->state_directory, next.state_directory);
        keep_for_restart(report, "state", running->state, next.state);
        // Both are read before either is swapped: a bad file changes nothing.
        auto link_context = make_link_context(next);
        auto webbridge_context = make_webbridge_context(next);
        note_applied(report, "log_level", running->log_level, next.log_level);
        note_applied(report, "edges", running->edges, next.edges);
        note_applied(report, "links_per_edge", running->links_per_edge, next.links_per_edge);
        note_applied(report, "join_url", running->join_urls, next.join_urls);
        note_applied(report, "discovery_interval_ms", running->discovery_interval,
                     next.discovery_interval);
        note_applied(report, "hosts_file", running->hosts_file, next.hosts_file);
        note_applied(report, "resolve", running->resolve, next.resolve);
        note_applied(report, "link", running->link, next.link);
        note_applied(
            report, "upstream",
            std::pair(running->upstream_connect_timeout, running->upstream_response_timeout),
            std::pair(next.upstream_connect_timeout, next.upstream_response_timeout));
        note_applied(report, "webbridge_tls.insecure_skip_verify", running->webbridge_insecure,
                     next.webbridge_insecure);
        log.set_level(next.log_level);
        warn_lab_settings(next);
        link_tls.store(std::move(link_context));
        upstream->tls.store(std::move(webbridge_context));
        log.info("certificates reloaded: link from {}, web bridge CA from {}",
                 next.link_certificate.string(),
                 next.webbridge_ca.empty() ? "the system store" : next.webbridge_ca.string());
        config.set(next);
        update_keepers(next);
        allowlist.configuration_changed();
        return report;
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

ReloadReport Core::reload(CoreConfig next) {
    return impl_->reload(std::move(next));
}

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
