// The core process: it dials every configured edge (links_per_edge links each, spread over the
// worker threads), redials with backoff when a link fails, and forwards each stream that arrives
// on a link to the web bridge.
#include "proxy/allowlist_feed.hpp"
#include "proxy/allowlist_service.hpp"
#include "proxy/backoff.hpp"
#include "proxy/drain.hpp"
#include "proxy/link_board.hpp"
#include "proxy/link_session.hpp"
#include "proxy/listen.hpp"
#include "proxy/proxy.hpp"
#include "proxy/reload_report.hpp"
#include "proxy/turn_feed.hpp"
#include "proxy/upstream.hpp"
#include "proxy/upstream_checker.hpp"
#include "proxy/websocket_relay.hpp"

#include "tls/tls.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <algorithm>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <tuple>

namespace edgeway::proxy {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

namespace {

// A link that stayed up this long is considered healthy: the next failure starts a fresh backoff.
constexpr std::chrono::seconds kHealthyLink{10};
// At a drain's start, how long the final GOAWAYs may take (LinkSession sends them a second
// after the notice at the latest); at its end, how long the links have to close
// (LinkSession::finish bounds it itself).
constexpr std::chrono::milliseconds kFinalGoawayLimit{1500};
constexpr std::chrono::seconds kLinksCloseLimit{4};
constexpr std::chrono::seconds kDialTimeout{10};

struct CoreWorker {
    explicit CoreWorker(InFlight& in_flight) : websockets(in_flight) {}
    // Before io: the coroutines io destroys at the end unregister their WebSockets here.
    WebSocketSet websockets;
    asio::io_context io{1};
    std::vector<std::shared_ptr<LinkSession>> links;   // used on io's thread only
    UpstreamPool pool;                                 // likewise
    Broadcast rules_changed{io.get_executor()};        // wakes the allow-list feeds
    Broadcast credentials_changed{io.get_executor()};  // wakes the TURN credential feeds
    Signal links_changed{io.get_executor()};           // a link of `links` ended
    std::vector<std::weak_ptr<LinkStream>> feeds;      // the control feeds served
    bool stopping = false;
    bool draining = false;  // no more dials: the links close once their streams are done
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
    InFlight in_flight;  // before workers, whose coroutines hold tickets to the end
    std::vector<std::unique_ptr<CoreWorker>> workers;
    // Swapped whole on reload: the next dial takes the current one. Null while the link
    // certificates cannot be used; link_tls_error says why.
    std::atomic<std::shared_ptr<asio::ssl::context>> link_tls;
    std::atomic<std::shared_ptr<const std::string>> link_tls_error;
    AllowlistService allowlist;
    turn::CredentialPublisher turn_credentials;
    UpstreamBalancer balancer{log};
    std::unique_ptr<UpstreamContext> upstream;
    std::vector<std::thread> threads;
    // The links kept, by key: changed by start() and reload(), walked by a certificate upload
    // (the admin thread), under keepers_mutex.
    std::mutex keepers_mutex;
    std::map<std::string, std::shared_ptr<LinkKeeper>> keepers;
    unsigned next_worker = 0;  // keepers are spread over the workers in turn
    telemetry::RequestLog requests;
    LinkBoard board{[this] { return allowlist.domains(); }};

    Impl(CoreConfig c, Logger& l)
        : config(std::move(c)),
          log(l),
          allowlist(config, log),
          turn_credentials(config.get()->state,
                           config.get()->state_directory / turn::kCredentialDatabaseFile, log) {}

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
        const auto context = link_tls.load();
        if (!context) {
            reason = "no usable link certificate: " + *link_tls_error.load();
            co_return std::nullopt;
        }
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
        TlsSocket tls(connection.release_socket(), *context);
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
        while (!worker.stopping && !worker.draining && !keeper->retired) {
            std::string reason;
            auto tls = co_await dial(edge, reason);
            if (tls && (keeper->retired || worker.draining)) break;  // removed while dialling
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
                    const bool allowlist_feed = is_allowlist_feed(*stream);
                    if (allowlist_feed || is_turn_feed(*stream)) {
                        std::erase_if(worker.feeds,
                                      [](const auto& feed) { return feed.expired(); });
                        worker.feeds.push_back(stream);
                        if (allowlist_feed)
                            asio::co_spawn(
                                worker.io,
                                serve_allowlist_feed(std::move(stream), allowlist.rules(),
                                                     worker.rules_changed),
                                on_done);
                        else
                            asio::co_spawn(worker.io,
                                           serve_turn_feed(std::move(stream), turn_credentials,
                                                           worker.credentials_changed),
                                           on_done);
                    } else {
                        // Counted from here, before anything a drain could look at in between.
                        asio::co_spawn(
                            worker.io,
                            forward(worker, InFlight::Ticket(in_flight), std::move(stream)),
                            on_done);
                    }
                });
                worker.links.push_back(link);
                keeper->link = link;
                const auto up_since = std::chrono::steady_clock::now();
                reason = co_await link->run();
                keeper->link.reset();
                std::erase(worker.links, link);
                worker.links_changed.notify();
                if (std::chrono::steady_clock::now() - up_since >= kHealthyLink) backoff.reset();
            }
            if (worker.stopping || worker.draining || keeper->retired) break;
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

    // One request (or WebSocket) from a link, counted while in flight.
    awaitable<void> forward(CoreWorker& worker, InFlight::Ticket,
                            std::shared_ptr<LinkStream> stream) {
        co_await forward_upstream(*upstream, worker.pool, worker.websockets, std::move(stream));
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
        std::lock_guard lock(keepers_mutex);
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

    // Builds and swaps in the link context; on failure the previous one (or none) stays.
    // Links waiting to redial because they had no usable certificate dial at once.
    void use_link_certificates(const CoreConfig& c) {
        auto context = make_link_context(c);
        const bool had_none = !link_tls.load();
        link_tls.store(std::move(context));
        link_tls_error.store(nullptr);
        std::lock_guard lock(keepers_mutex);
        if (had_none)
            for (const auto& [key, keeper] : keepers)
                asio::post(keeper->worker.io, [keeper] { keeper->pause.cancel(); });
    }
    void use_webbridge_ca(const CoreConfig& c) { upstream->set_tls(make_webbridge_context(c)); }

    void start() {
        const auto initial = config.get();
        upstream = std::make_unique<UpstreamContext>(config, log, allowlist.rules(),
                                                     allowlist.resolver(), requests, balancer);
        // A certificate that cannot be used is logged and waited for, not fatal, so that the
        // admin page comes up to take a good one.
        try {
            use_link_certificates(*initial);
        } catch (const std::exception& e) {
            link_tls_error.store(std::make_shared<const std::string>(e.what()));
            log.error(
                "the link certificates cannot be used, no edge is dialled until they can: {} "
                "(fix the files and reload, or upload them in the admin page)",
                e.what());
        }
        try {
            use_webbridge_ca(*initial);
        } catch (const std::exception& e) {
            upstream->set_tls_error(e.what());
            log.error(
                "the web bridge CA cannot be used, requests get 502 until it can: {} (fix the "
                "file and reload, or upload it in the admin page)",
                e.what());
        }
        warn_lab_settings(*initial);

        const unsigned count = std::max(1u, initial->workers);
        for (unsigned i = 0; i < count; ++i)
            workers.push_back(std::make_unique<CoreWorker>(in_flight));
        for (auto& worker : workers) {
            allowlist.on_publish(
                [w = worker.get()] { asio::post(w->io, [w] { w->rules_changed.notify(); }); });
            turn_credentials.on_publish([w = worker.get()] {
                asio::post(w->io, [w] { w->credentials_changed.notify(); });
            });
        }
        allowlist.start();
        turn_credentials.start();
        update_keepers(*initial);
        asio::co_spawn(workers.front()->io, check_down_targets(*upstream),
                       [this](std::exception_ptr error) { log_failure(error); });
        for (auto& worker : workers) threads.emplace_back([w = worker.get()] { w->io.run(); });
    }

    ReloadReport reload(CoreConfig next) {
        if (!upstream) throw std::runtime_error("the core is not running");
        const auto running = config.get();
        ReloadReport report;
        keep_for_restart(report, "workers", running->workers, next.workers);
        keep_for_restart(report, "state_directory", running->state_directory, next.state_directory);
        keep_for_restart(report, "state", running->state, next.state);
        keep_for_restart(report, "node_name", running->node_name, next.node_name);
        keep_for_restart(report, "turn.realm", running->turn_realm, next.turn_realm);
        note_applied(report, "log_level", running->log_level, next.log_level);
        note_applied(report, "edges", running->edges, next.edges);
        note_applied(report, "links_per_edge", running->links_per_edge, next.links_per_edge);
        note_applied(report, "join_url", running->join_urls, next.join_urls);
        note_applied(report, "discovery_interval_ms", running->discovery_interval,
                     next.discovery_interval);
        note_applied(report, "hosts_file", running->hosts_file, next.hosts_file);
        note_applied(report, "resolve", running->resolve, next.resolve);
        note_applied(report, "link", running->link, next.link);
        note_applied(report, "drain", running->drain, next.drain);
        const auto upstream_fields = [](const CoreConfig& c) {
            return std::tie(c.upstream_connect_timeout, c.upstream_response_timeout,
                            c.upstream_health_check_interval, c.upstream_health_check_path);
        };
        note_applied(report, "upstream", upstream_fields(*running), upstream_fields(next));
        note_applied(report, "webbridge_tls.insecure_skip_verify", running->webbridge_insecure,
                     next.webbridge_insecure);
        log.set_level(next.log_level);
        warn_lab_settings(next);
        // Each certificate on its own: one that cannot be used keeps the previous one.
        try {
            use_link_certificates(next);
        } catch (const std::exception& e) {
            report.failed.push_back(std::string("link certificates: ") + e.what());
        }
        try {
            use_webbridge_ca(next);
        } catch (const std::exception& e) {
            report.failed.push_back(std::string("web bridge CA: ") + e.what());
        }
        config.set(next);
        update_keepers(next);
        allowlist.configuration_changed();
        return report;
    }

    DrainProgress drain(Millis deadline, const DrainObserver& observer) {
        if (!upstream) throw std::runtime_error("the core is not running");
        const auto start = std::chrono::steady_clock::now();
        // A keeper waiting to redial stops now (the keepers change only on reload, which no
        // longer happens once a drain began).
        for (auto& [key, keeper] : keepers)
            asio::post(keeper->worker.io, [keeper] { keeper->pause.cancel(); });
        // Until each link's final GOAWAY went out, streams still arrive that count as in
        // flight once taken: what is in flight is known only from then on.
        std::vector<std::future<void>> notified;
        for (auto& worker : workers)
            notified.push_back(asio::co_spawn(worker->io, start_drain(*worker), asio::use_future));
        for (auto& done : notified) done.wait();
        auto progress = wait_for_in_flight(log, in_flight, start, deadline, observer, [this] {
            for (auto& worker : workers)
                asio::post(worker->io,
                           [w = worker.get()] { w->websockets.close_all_for_restart(); });
        });
        // What is queued goes out, then the links close.
        std::vector<std::future<void>> closed;
        for (auto& worker : workers)
            closed.push_back(asio::co_spawn(worker->io, finish_links(*worker), asio::use_future));
        for (auto& done : closed) done.wait_for(kLinksCloseLimit + std::chrono::seconds(1));
        return progress;
    }

    // No more dials; a GOAWAY on every link, and a wait (bounded: a link sends it a second after
    // its notice at the latest) until the final one of each went out.
    static awaitable<void> start_drain(CoreWorker& worker) {
        worker.draining = true;
        auto pending = std::make_shared<std::size_t>(worker.links.size());
        auto sent = std::make_shared<Signal>(worker.io.get_executor());
        for (auto& link : worker.links)
            link->drain([pending, sent] {
                --*pending;
                sent->notify();
            });
        asio::steady_timer limit(worker.io, kFinalGoawayLimit);
        while (*pending > 0) {
            auto woken = co_await (sent->wait() || limit.async_wait(asio::as_tuple(use_awaitable)));
            if (woken.index() == 1) break;
        }
    }

    // The control feeds end (the edges take that calmly from a link under GOAWAY), then each
    // link closes as soon as its last stream is done.
    static awaitable<void> finish_links(CoreWorker& worker) {
        for (auto& feed : worker.feeds)
            if (auto stream = feed.lock()) stream->finish();
        for (auto& link : worker.links) link->finish("the core drained");
        asio::steady_timer limit(worker.io, kLinksCloseLimit);
        while (!worker.links.empty()) {
            auto woken = co_await (worker.links_changed.wait() ||
                                   limit.async_wait(asio::as_tuple(use_awaitable)));
            if (woken.index() == 1) break;
        }
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
        turn_credentials.stop();
    }
};

ReloadReport Core::reload(CoreConfig next) {
    return impl_->reload(std::move(next));
}
void Core::reload_link_certificates() {
    if (!impl_->upstream) throw std::runtime_error("the core is not running");
    impl_->use_link_certificates(*impl_->config.get());
    impl_->log.info("link certificates reloaded from {}",
                    impl_->config.get()->link_certificate.string());
}
void Core::reload_webbridge_ca() {
    if (!impl_->upstream) throw std::runtime_error("the core is not running");
    impl_->use_webbridge_ca(*impl_->config.get());
    impl_->log.info("web bridge CA reloaded");
}

Core::Core(CoreConfig config, Logger& log)
    : impl_(std::make_unique<Impl>(std::move(config), log)) {}
Core::~Core() {
    stop();
}
void Core::start() {
    impl_->start();
}
DrainProgress Core::drain(Millis deadline, const DrainObserver& observer) {
    return impl_->drain(deadline, observer);
}
void Core::hurry_drain() {
    impl_->in_flight.hurry();
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
std::vector<telemetry::UpstreamTarget> Core::upstream_targets() const {
    return impl_->balancer.snapshot();
}

}  // namespace edgeway::proxy
