// The edge process: worker threads, the browsers' listener (one SO_REUSEPORT acceptor per
// worker), the port-80 redirect and the link listener. Links are spread over the workers, so
// each worker's browser connections have links of their own.
#include "proxy/allowlist_feed.hpp"
#include "proxy/edge_worker.hpp"
#include "proxy/http_util.hpp"
#include "proxy/link_board.hpp"
#include "proxy/listen.hpp"
#include "proxy/proxy.hpp"
#include "proxy/reload_report.hpp"
#include "proxy/turn_feed.hpp"

#include "tls/tls.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <future>
#include <set>
#include <thread>

namespace edgeway::proxy {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;

struct Edge::Impl {
    LiveConfig<EdgeConfig> config;
    Logger& log;
    InFlight in_flight;  // before workers, whose coroutines hold tickets to the end
    std::atomic<bool> draining{false};
    std::vector<std::unique_ptr<EdgeWorker>> workers;
    SharedRules rules;  // the last rule set a core pushed; empty until then
    // The last TURN credential set a core pushed, for the relay; null unless the relay takes
    // pushed credentials (then the feed is opened on every link).
    std::shared_ptr<turn::PushedCredentials> turn_credentials;
    std::unique_ptr<EdgeContext> context;
    // Swapped whole on reload, like EdgeContext::https_tls.
    std::atomic<std::shared_ptr<asio::ssl::context>> link_tls;
    std::vector<tcp::acceptor> https_acceptors;  // https_acceptors[i] lives on workers[i]
    std::optional<tcp::acceptor> redirect_acceptor;
    std::optional<tcp::acceptor> link_acceptor;
    std::uint16_t https_port = 0, redirect_port = 0, link_port = 0;
    std::vector<std::thread> threads;
    telemetry::RequestLog requests;
    LinkBoard board{[this] { return allowed_hosts(); }};

    Impl(EdgeConfig c, Logger& l) : config(std::move(c)), log(l) {
        const auto& relay = config.get()->turn;
        if (relay && relay->credentials == turn::Credentials::pushed)
            turn_credentials = std::make_shared<turn::PushedCredentials>();
    }

    // The hosts the allow list opens: the domains the links serve, as far as the edge knows.
    std::vector<std::string> allowed_hosts() const {
        std::set<std::string> hosts;
        if (const auto current = rules.load())
            for (const auto& rule : current->rules->rule_set().rules) hosts.insert(rule.host);
        return {hosts.begin(), hosts.end()};
    }

    static std::shared_ptr<asio::ssl::context> make_link_context(const EdgeConfig& c) {
        return tls::make_server_context(
            {c.link_certificate, c.link_private_key, c.link_client_ca, {"h2"}});
    }

    static std::shared_ptr<asio::ssl::context> make_https_context(const EdgeConfig& c) {
        return tls::make_server_context({c.certificate, c.private_key, {}, {"http/1.1"}});
    }

    // Both are read before either is swapped: a bad file changes neither. Throws naming it.
    void use_certificates(const EdgeConfig& c) {
        auto https = make_https_context(c);
        auto link = make_link_context(c);
        context->https_tls.store(std::move(https));
        link_tls.store(std::move(link));
        log.info("certificates reloaded: https from {}, link from {}", c.certificate.string(),
                 c.link_certificate.string());
    }

    // Logs what ended a connection's coroutine with an exception; nothing else sees it.
    auto on_done(std::string what) {
        return [this, what = std::move(what)](std::exception_ptr error) {
            if (!error) return;
            try {
                std::rethrow_exception(error);
            } catch (const std::exception& e) {
                log.warn("{} ended: {}", what, e.what());
            }
        };
    }

    template <typename Serve>
    awaitable<void> accept_loop(tcp::acceptor& acceptor, std::string what, Serve serve) {
        for (;;) {
            auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(use_awaitable));
            if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
            if (ec) {
                // Out of descriptors and the like: back off briefly rather than spin.
                log.warn("accepting {} connections failed: {}", what, ec.message());
                asio::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(100));
                co_await pause.async_wait(asio::as_tuple(use_awaitable));
                continue;
            }
            socket.set_option(tcp::no_delay(true), ec);
            serve(std::move(socket));
        }
    }

    awaitable<void> serve_link(EdgeWorker& worker, tcp::socket socket) {
        boost::system::error_code ec;
        const auto remote = socket.remote_endpoint(ec);
        const std::string peer = ec ? "unknown" : to_string(remote);
        const auto current = config.get();
        TlsSocket tls(std::move(socket), *link_tls.load());
        tls.expires_after(current->limits.handshake_timeout);
        auto [handshake_error] = co_await tls.async_handshake(asio::ssl::stream_base::server,
                                                              asio::as_tuple(use_awaitable));
        if (handshake_error) {
            log.warn("link refused from {}: {}", peer,
                     tls::describe(handshake_error, tls.native_handle()));
            co_return;
        }
        if (tls::negotiated_alpn(tls.native_handle()) != "h2") {
            log.warn("link refused from {}: the client did not offer ALPN h2", peer);
            co_return;
        }
        const std::string common_name = tls::peer_common_name(tls.native_handle());
        const std::string name = fmt::format("{} (CN={})", peer, common_name);
        LinkSession::Settings settings;
        settings.timing = current->link;
        auto link = std::make_shared<LinkSession>(std::move(tls), LinkSession::Role::edge, settings,
                                                  log, name);
        link->set_ready_handler([this, &worker, weak = std::weak_ptr(link), common_name] {
            if (auto up = weak.lock()) {
                board.active(up->peer(), common_name, up);
                if (turn_credentials)
                    asio::co_spawn(worker.io, receive_turn_feed(up, *turn_credentials, log),
                                   on_done("TURN credential feed"));
                asio::co_spawn(worker.io, receive_allowlist_feed(std::move(up), rules, log),
                               on_done("allow-list feed"));
            }
            paths_changed(worker);
        });
        link->set_goaway_handler([this, &worker] { paths_changed(worker); });
        worker.links.push_back(link);
        const std::string reason = co_await link->run();
        std::erase(worker.links, link);
        paths_changed(worker);
        board.failed(name, reason);
    }

    // On `changed`'s thread, when one of its links came up, got a GOAWAY or went: recounts its
    // ready links; a worker left without any while another has some closes its keep-alive
    // connections after their current request, so that browsers reconnect to a worker (and a
    // core) that can serve them.
    void paths_changed(EdgeWorker& changed) {
        changed.ready_links = changed.count_ready_links();
        bool any_ready = false;
        for (const auto& worker : workers) any_ready |= worker->ready_links > 0;
        for (auto& worker : workers) {
            const bool close = draining || (worker->ready_links == 0 && any_ready);
            if (worker->closes_connections.exchange(close) == close || !close) continue;
            asio::post(worker->io, [w = worker.get()] { w->close_idle(); });
        }
    }

    // A browser connection is served on the worker that accepted it, unless that worker has no
    // link that takes streams while another has one (fewer links than workers, or a core
    // draining): then it moves there before its TLS handshake, so that it is not refused while
    // a path to the inside exists.
    void serve_browser(EdgeWorker& acceptor_worker, tcp::socket socket) {
        EdgeWorker* worker = &acceptor_worker;
        if (worker->ready_links == 0)
            for (auto& other : workers)
                if (other->ready_links > 0) {
                    worker = other.get();
                    break;
                }
        if (worker != &acceptor_worker) {
            const auto protocol = socket.local_endpoint().protocol();
            socket = tcp::socket(worker->io, protocol, socket.release());
        }
        asio::co_spawn(worker->io, serve_downstream(*context, *worker, std::move(socket)),
                       on_done("browser connection"));
    }

    void start() {
        const auto initial = config.get();
        const unsigned count = std::max(1u, initial->workers);
        for (unsigned i = 0; i < count; ++i)
            workers.push_back(std::make_unique<EdgeWorker>(in_flight));
        EdgeWorker& first = *workers.front();

        link_tls = make_link_context(*initial);
        auto https_tls = make_https_context(*initial);

        // The first acceptor fixes the port (the configured one, or a free one for port 0);
        // the other workers join it with SO_REUSEPORT.
        auto https_endpoint = parse_endpoint(initial->listen_https);
        for (auto& worker : workers) {
            https_acceptors.push_back(bind_acceptor(worker->io, https_endpoint, true, "https"));
            https_endpoint = https_acceptors.back().local_endpoint();
        }
        https_port = https_endpoint.port();
        context = std::make_unique<EdgeContext>(config, log, https_tls, https_port, rules, requests,
                                                in_flight);
        log.info("https listening on {}", to_string(https_endpoint));

        link_acceptor.emplace(
            bind_acceptor(first.io, parse_endpoint(initial->listen_link), false, "links"));
        link_port = link_acceptor->local_endpoint().port();
        log.info("link listening on {}", to_string(link_acceptor->local_endpoint()));

        if (!initial->listen_http_redirect.empty()) {
            redirect_acceptor.emplace(bind_acceptor(
                first.io, parse_endpoint(initial->listen_http_redirect), false, "redirects"));
            redirect_port = redirect_acceptor->local_endpoint().port();
            log.info("redirect listening on {}", to_string(redirect_acceptor->local_endpoint()));
        }

        for (std::size_t i = 0; i < workers.size(); ++i) {
            EdgeWorker& worker = *workers[i];
            asio::co_spawn(worker.io,
                           accept_loop(https_acceptors[i], "https",
                                       [this, &worker](tcp::socket socket) {
                                           serve_browser(worker, std::move(socket));
                                       }),
                           on_done("https listener"));
        }
        asio::co_spawn(
            first.io,
            accept_loop(*link_acceptor, "link",
                        [this](tcp::socket socket) {
                            // The worker with the fewest links takes the new one.
                            EdgeWorker& worker = **std::min_element(
                                workers.begin(), workers.end(), [](const auto& a, const auto& b) {
                                    return a->link_count < b->link_count;
                                });
                            ++worker.link_count;  // counted now, so the next pick sees it
                            const auto protocol = socket.local_endpoint().protocol();
                            tcp::socket moved(worker.io, protocol, socket.release());
                            asio::co_spawn(
                                worker.io,
                                [this, &worker, s = std::move(moved)]() mutable -> awaitable<void> {
                                    co_await serve_link(worker, std::move(s));
                                    --worker.link_count;
                                },
                                on_done("link"));
                        }),
            on_done("link listener"));
        if (redirect_acceptor)
            asio::co_spawn(first.io,
                           accept_loop(*redirect_acceptor, "redirect",
                                       [this, &first](tcp::socket socket) {
                                           asio::co_spawn(
                                               first.io,
                                               serve_redirect(*context, std::move(socket)),
                                               on_done("redirect connection"));
                                       }),
                           on_done("redirect listener"));

        for (auto& worker : workers) threads.emplace_back([w = worker.get()] { w->io.run(); });
    }

    // Runs f(worker, index) on every worker's thread and waits until all have.
    template <typename F>
    void on_every_worker(F f) {
        std::vector<std::future<void>> done;
        for (std::size_t i = 0; i < workers.size(); ++i) {
            auto ran = std::make_shared<std::promise<void>>();
            done.push_back(ran->get_future());
            asio::post(workers[i]->io, [f, i, ran, w = workers[i].get()] {
                f(*w, i);
                ran->set_value();
            });
        }
        for (auto& d : done) d.wait();
    }

    DrainProgress drain(Millis deadline, const DrainObserver& observer) {
        if (!context) throw std::runtime_error("the edge is not running");
        const auto start = std::chrono::steady_clock::now();
        draining = true;
        on_every_worker([this](EdgeWorker& worker, std::size_t i) {
            boost::system::error_code ignored;
            https_acceptors[i].close(ignored);
            if (i == 0) {
                if (link_acceptor) link_acceptor->close(ignored);
                if (redirect_acceptor) redirect_acceptor->close(ignored);
            }
            worker.closes_connections = true;
            worker.close_idle();
        });
        log.info("draining: stopped accepting connections (https, redirect, links)");
        return wait_for_in_flight(log, in_flight, start, deadline, observer, [this] {
            for (auto& worker : workers)
                asio::post(worker->io,
                           [w = worker.get()] { w->websockets.close_all_for_restart(); });
        });
    }

    void stop() {
        for (std::size_t i = 0; i < workers.size(); ++i) {
            EdgeWorker& worker = *workers[i];
            asio::post(worker.io, [this, i, &worker] {
                boost::system::error_code ignored;
                https_acceptors[i].close(ignored);
                if (i == 0) {
                    if (link_acceptor) link_acceptor->close(ignored);
                    if (redirect_acceptor) redirect_acceptor->close(ignored);
                }
                for (auto& link : worker.links) link->close("the edge is shutting down");
                worker.io.stop();
            });
        }
        for (auto& thread : threads) thread.join();
        threads.clear();
    }
};

Edge::Edge(EdgeConfig config, Logger& log)
    : impl_(std::make_unique<Impl>(std::move(config), log)) {}
Edge::~Edge() {
    stop();
}
void Edge::start() {
    impl_->start();
}
std::uint16_t Edge::https_port() const {
    return impl_->https_port;
}
std::uint16_t Edge::redirect_port() const {
    return impl_->redirect_port;
}
std::uint16_t Edge::link_port() const {
    return impl_->link_port;
}
DrainProgress Edge::drain(Millis deadline, const DrainObserver& observer) {
    return impl_->drain(deadline, observer);
}
void Edge::hurry_drain() {
    impl_->in_flight.hurry();
}
void Edge::stop() {
    impl_->stop();
}
void Edge::reload_certificates() {
    if (!impl_->context) throw std::runtime_error("the edge is not running");
    impl_->use_certificates(*impl_->config.get());
}
ReloadReport Edge::reload(EdgeConfig next) {
    Impl& impl = *impl_;
    if (!impl.context) throw std::runtime_error("the edge is not running");
    const auto running = impl.config.get();
    ReloadReport report;
    // What the listeners and threads were built from.
    keep_for_restart(report, "workers", running->workers, next.workers);
    keep_for_restart(report, "listen.https", running->listen_https, next.listen_https);
    keep_for_restart(report, "listen.http_redirect", running->listen_http_redirect,
                     next.listen_http_redirect);
    keep_for_restart(report, "listen.link", running->listen_link, next.listen_link);
    keep_for_restart(report, "state_directory", running->state_directory, next.state_directory);
    note_applied(report, "log_level", running->log_level, next.log_level);
    note_applied(report, "limits", running->limits, next.limits);
    note_applied(report, "link", running->link, next.link);
    note_applied(report, "drain", running->drain, next.drain);
    note_applied(report, "public_https_port", running->public_https_port, next.public_https_port);
    impl.log.set_level(next.log_level);
    try {
        impl.use_certificates(next);
    } catch (const std::exception& e) {
        report.failed.push_back(std::string("certificates: ") + e.what());
    }
    impl.config.set(std::move(next));
    return report;
}
std::vector<telemetry::LinkStatus> Edge::links() const {
    return impl_->board.snapshot();
}
const telemetry::RequestLog& Edge::requests() const {
    return impl_->requests;
}
std::shared_ptr<const turn::PushedCredentials> Edge::turn_credentials() const {
    return impl_->turn_credentials;
}

}  // namespace edgeway::proxy
