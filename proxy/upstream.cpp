// Forwarding one link stream to the web bridge over HTTP/1.1 + TLS. The request body and the
// response body are streamed; a WebSocket becomes a byte pipe after the web bridge's 101.
#include "proxy/upstream.hpp"

#include "proxy/http_util.hpp"
#include "proxy/relay_buffer.hpp"
#include "proxy/upstream_connect.hpp"
#include "proxy/websocket_relay.hpp"
#include "tls/tls.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <sys/socket.h>
#include <cerrno>

namespace edgeway::proxy {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;
using Stream = UpstreamStream;
using namespace asio::experimental::awaitable_operators;

constexpr std::size_t kHeadBuffer = 4096;
constexpr std::uint32_t kMaxResponseHead = 64 * 1024;
// Idle connections kept per worker, and for how long: well under common server keep-alive
// timeouts, so that the web bridge rarely closes one just as it is reused.
constexpr std::size_t kMaxIdle = 256;
constexpr std::chrono::seconds kMaxIdleTime{15};

// True when the peer has closed (or sent something unasked on) an idle connection.
bool looks_closed(UpstreamStream& stream) {
    char byte;
    const auto n = ::recv(stream.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
}

// How one try on one target ended. retry: a pooled connection the web bridge had closed
// meanwhile, try a new connection; next_target: the target failed before answering and the
// request can still go to another one.
enum class Outcome { done, retry, next_target };

// Methods that may be sent again after a web bridge took the request and closed without
// answering (RFC 9110 9.2.2: idempotent).
bool idempotent(std::string_view method) {
    return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "PUT" ||
           method == "DELETE";
}

class UpstreamExchange {
  public:
    UpstreamExchange(const UpstreamContext& context, UpstreamPool& pool, WebSocketSet& websockets,
                     std::shared_ptr<LinkStream> stream)
        : context_(context),
          config_(context.config.get()),
          pool_(pool),
          websockets_(websockets),
          link_(std::move(stream)) {
        const Headers& h = link_->headers();
        method_ = find_header(h, ":method");
        path_ = find_header(h, ":path");
        authority_ = find_header(h, ":authority");
        websocket_ = method_ == "CONNECT" && find_header(h, ":protocol") == "websocket";
        trace_ = find_header(h, "x-edgeway-trace-id");
        if (trace_.empty()) trace_ = new_trace_id();
        client_ = find_header(h, "x-forwarded-for");
    }

    awaitable<void> run() {
        // Room for a typical response head in one read; bodies go to their own buffer.
        buffer_.reserve(kHeadBuffer);
        // The same check as the edge's, with the same code: the core is the source of truth and
        // trusts no edge blindly.
        allowlist::RequestHead head;
        head.method = websocket_ ? std::string_view("GET") : std::string_view(method_);
        head.target = path_;
        head.host = authority_;
        head.websocket = websocket_;
        const auto rules = context_.rules.load();
        if (rules && !rules->enabled) {
            refusal_label_ = telemetry::kRefusalDisabled;
            co_await answer(503, "Service Unavailable", "The web proxy is disabled on this server.",
                            "the web proxy is disabled by its administrator");
            co_return;
        }
        AccessCheck check = check_access(head, rules.get());
        if (check.status != 0) {
            if (check.status == 400) refusal_label_ = telemetry::kRefusalBadRequest;
            const bool forbidden = check.status == 403 || check.status == 503;
            const std::string_view title = forbidden ? "Forbidden" : "Bad Request";
            co_await answer(forbidden ? 403 : check.status, title,
                            "This address is not open to the outside.", check.reason);
            co_return;
        }
        target_ = std::move(check.request);
        service_ = {target_.host, target_.port};
        const std::vector<std::string> addresses = co_await find_targets();
        if (addresses.empty()) {
            co_await fail(502, failure_);
            co_return;
        }
        // Only a request without a body may go on a pooled connection: if that connection turns
        // out to be closed, the request can be sent again on a new one.
        const bool poolable = !websocket_ && link_->ended_with_headers();
        bool may_reuse = poolable;
        std::vector<std::string> tried;  // targets that failed this request
        Outcome outcome = Outcome::done;
        for (;;) {
            std::optional<std::string> address = context_.balancer.pick(service_, addresses, tried);
            if (!address) {
                // Named, not a conditional expression inside co_await: GCC 12 destroys such a
                // temporary twice (double free).
                std::string reason = failure_;
                if (tried.size() > 1)
                    reason = fmt::format("{} web bridge targets tried, none answered; the last: {}",
                                         tried.size(), failure_);
                co_await fail(502, reason);
                co_return;
            }
            if (outcome == Outcome::next_target)
                context_.log.info("trace={} {}; trying web bridge {}", trace_, failure_, *address);
            address_ = std::move(*address);
            outcome = co_await attempt(may_reuse, poolable);
            may_reuse = false;
            if (outcome == Outcome::done) break;
            if (outcome == Outcome::next_target) tried.push_back(address_);
        }
        log_access();
        // A response cut short must not look complete to the edge.
        if (!link_->finished()) link_->reset(true);
        if (poolable && reusable_) {
            pool_.put(pool_key_, std::move(upstream_));
        } else {
            boost::system::error_code ignored;
            upstream_->socket().close(ignored);
        }
    }

  private:
    // The request's host's web bridge targets: the inside resolver's (lab table or discovery),
    // else the system resolver's now. Empty, with failure_ set, when there are none.
    awaitable<std::vector<std::string>> find_targets() {
        auto addresses = context_.resolver.targets(target_.host, target_.port);
        if (!addresses.empty()) co_return addresses;
        if (context_.resolver.lab()) {
            failure_ = fmt::format(
                "cannot resolve web bridge {} (DNS failure): not in the lab hosts table",
                target_.host);
            co_return addresses;
        }
        co_return co_await resolve_upstream(target_.host, target_.port, failure_);
    }

    // One try on address_: a connection (pooled or new), the request head, then the response
    // (and the body, streamed alongside).
    awaitable<Outcome> attempt(bool may_reuse, bool poolable) {
        std::string reason;
        if (!co_await connect(may_reuse, reason)) {
            // Nothing was sent: any request, with a body or a WebSocket, can go elsewhere.
            target_failed(reason);
            co_return Outcome::next_target;
        }
        std::string head = request_head(poolable);
        upstream_->expires_after(config_->upstream_response_timeout);
        auto [ec, n] = co_await asio::async_write(*upstream_, asio::buffer(head),
                                                  asio::as_tuple(use_awaitable));
        if (ec && reused_) co_return Outcome::retry;
        if (ec) {
            // Not even the whole head went out, so the web bridge cannot have acted on it; no
            // body byte has been read from the link yet.
            target_failed("sending the request failed: " + tls::describe(ec));
            co_return Outcome::next_target;
        }
        if (websocket_ || link_->ended_with_headers()) co_return co_await relay_response();
        // With a body the request cannot be sent again once the body started: whatever
        // relay_response says, this try is the last.
        co_await (relay_response() || upload());
        co_return Outcome::done;
    }

    // The chosen target failed before answering: the balancer marks it down, and the reason
    // stays for the 502 should no other target answer.
    void target_failed(const std::string& reason) {
        context_.balancer.failed(service_, address_, reason,
                                 config_->upstream_health_check_interval);
        failure_ = fmt::format("web bridge {}: {}", address_, reason);
    }

    // Whether a request the web bridge took and then closed on without answering may go to
    // another target: no body and an idempotent method (a WebSocket upgrade is a GET whose
    // bytes only flow after the 101).
    bool replayable() const {
        return websocket_ || (link_->ended_with_headers() && idempotent(method_));
    }

    awaitable<bool> connect(bool may_reuse, std::string& reason) {
        buffer_.consume(buffer_.size());
        reused_ = false;
        pool_key_ = service_.key() + "@" + address_;  // pooled connections stay per target
        if (may_reuse) {
            upstream_ = pool_.take(pool_key_);
            if (upstream_) {
                reused_ = true;
                co_return true;
            }
        }
        const UpstreamConnect how{without_brackets(target_.host), !config_->webbridge_insecure,
                                  config_->upstream_connect_timeout};
        const auto tls_context = context_.tls();
        if (!tls_context) {
            reason = "the web bridge CA cannot be used: " + context_.tls_error();
            co_return false;
        }
        upstream_ = co_await connect_upstream(address_, how, *tls_context, reason);
        co_return upstream_ != nullptr;
    }

    std::string request_head(bool keep_alive) const {
        std::string head = fmt::format("{} {} HTTP/1.1\r\nHost: {}\r\n",
                                       websocket_ ? std::string_view("GET") : method_,
                                       target_.target(), target_.authority());
        bool has_length = false;
        for (const auto& h : link_->headers()) {
            if (h.name.empty() || h.name.front() == ':' || is_hop_by_hop(h.name) ||
                h.name == "host")
                continue;
            if (h.name == "content-length") has_length = true;
            head += h.name;
            head += ": ";
            head += h.value;
            head += "\r\n";
        }
        if (websocket_) {
            head += "Upgrade: websocket\r\nConnection: Upgrade\r\n";
        } else {
            if (!keep_alive) head += "Connection: close\r\n";
            if (!link_->ended_with_headers() && !has_length)
                head += "Transfer-Encoding: chunked\r\n";
            else if (link_->ended_with_headers() && !has_length &&
                     (method_ == "POST" || method_ == "PUT" || method_ == "PATCH"))
                head += "Content-Length: 0\r\n";
        }
        head += "\r\n";
        return head;
    }

    bool chunked_upload() const {
        return !websocket_ && find_header(link_->headers(), "content-length").empty();
    }

    // The request body from the link to the web bridge; parks when done so that the response
    // side decides when the exchange ends.
    awaitable<void> upload() {
        const bool chunked = chunked_upload();
        std::string data;
        for (;;) {
            const auto ec = co_await link_->read(data);
            if (ec == asio::error::eof) break;
            if (ec) {
                // The edge gave up on the request: stop talking to the web bridge too.
                link_gone_ = true;
                upstream_->close();
                co_return;
            }
            bytes_in_ += data.size();
            upstream_->expires_after(config_->upstream_response_timeout);
            if (chunked) {
                const std::string size = fmt::format("{:x}\r\n", data.size());
                const std::array<asio::const_buffer, 3> parts{
                    asio::buffer(size), asio::buffer(data), asio::buffer("\r\n", 2)};
                if (auto [e, n] = co_await asio::async_write(*upstream_, parts,
                                                             asio::as_tuple(use_awaitable));
                    e)
                    co_return;
            } else if (auto [e, n] = co_await asio::async_write(*upstream_, asio::buffer(data),
                                                                asio::as_tuple(use_awaitable));
                       e) {
                co_return;
            }
        }
        if (chunked)
            co_await asio::async_write(*upstream_, asio::buffer("0\r\n\r\n", 5),
                                       asio::as_tuple(use_awaitable));
        asio::steady_timer forever(co_await asio::this_coro::executor,
                                   asio::steady_timer::time_point::max());
        co_await forever.async_wait(use_awaitable);
    }

    awaitable<Outcome> relay_response() {
        std::optional<http::response_parser<http::buffer_body>> parser;
        // Interim 1xx answers (100 Continue) are skipped; 101 ends the head for a WebSocket.
        for (;;) {
            parser.emplace();
            parser->header_limit(kMaxResponseHead);
            parser->body_limit(boost::none);
            if (method_ == "HEAD") parser->skip(true);
            upstream_->expires_after(config_->upstream_response_timeout);
            auto [ec, n] = co_await http::async_read_header(*upstream_, buffer_, *parser,
                                                            asio::as_tuple(use_awaitable));
            if (ec == beast::error::timeout) {
                co_await fail(504, fmt::format("no response head from the web bridge within {} ms",
                                               config_->upstream_response_timeout.count()));
                co_return Outcome::done;
            }
            if (ec && !parser->got_some()) {
                if (reused_) co_return Outcome::retry;
                if (!link_gone_) {
                    // A new connection closed before any response byte: the web bridge went
                    // away (stopped, crashed) with the request.
                    target_failed("closed the connection before answering: " + tls::describe(ec));
                    if (replayable()) co_return Outcome::next_target;
                }
            }
            if (ec) {
                co_await fail(502,
                              "reading the web bridge's response failed: " + tls::describe(ec));
                co_return Outcome::done;
            }
            const unsigned code = parser->get().result_int();
            if (code >= 200 || code == 101) break;
        }
        context_.balancer.succeeded(service_, address_);
        auto& response = parser->get();
        status_ = response.result_int();
        if (websocket_) {
            co_await relay_websocket(response.base());
            co_return Outcome::done;
        }
        Headers headers{{":status", std::to_string(status_)}};
        for (const auto& field : response) {
            std::string name = lowercase(field.name_string());
            if (is_hop_by_hop(name)) continue;
            headers.push_back({std::move(name), std::string(field.value())});
        }
        const bool no_body = parser->is_done();
        if (link_->respond(headers, no_body)) co_return Outcome::done;
        if (no_body) {
            reusable_ = parser->keep_alive();
            co_return Outcome::done;
        }
        const std::size_t size = body_buffer_size(parser->content_length());
        const std::unique_ptr<char[]> chunk(new char[size]);  // not zeroed: it is written first
        while (!parser->is_done()) {
            parser->get().body().data = chunk.get();
            parser->get().body().size = size;
            upstream_->expires_after(config_->upstream_response_timeout);
            // read_some, not read: a body arriving in small pieces is passed on as it comes.
            auto [ec, n] = co_await http::async_read_some(*upstream_, buffer_, *parser,
                                                          asio::as_tuple(use_awaitable));
            if (ec == http::error::need_buffer) ec = {};
            if (ec) {
                context_.log.warn("trace={} response from the web bridge broke off: {}", trace_,
                                  tls::describe(ec));
                link_->reset(true);
                co_return Outcome::done;
            }
            const std::size_t got = size - parser->get().body().size;
            bytes_out_ += got;
            if (got && co_await link_->write({chunk.get(), got})) co_return Outcome::done;
        }
        link_->finish();
        reusable_ = parser->keep_alive();
        co_return Outcome::done;
    }

    awaitable<void> relay_websocket(const http::response_header<>& response) {
        if (status_ != 101) {
            // Refused upgrade: pass the web bridge's answer on as an ordinary response.
            Headers headers{{":status", std::to_string(status_)}};
            for (const auto& field : response) {
                std::string name = lowercase(field.name_string());
                if (!is_hop_by_hop(name) && name != "content-length")
                    headers.push_back({std::move(name), std::string(field.value())});
            }
            link_->respond(headers, true);
            co_return;
        }
        Headers headers{{":status", "200"}};
        for (const auto& field : response) {
            std::string name = lowercase(field.name_string());
            if (!is_hop_by_hop(name))
                headers.push_back({std::move(name), std::string(field.value())});
        }
        if (link_->respond(headers, false)) co_return;
        upstream_->expires_never();
        // From here on the connection is a byte pipe: the response buffer is not needed again.
        std::string early = beast::buffers_to_string(buffer_.data());
        buffer_ = beast::flat_buffer();
        WebSocketRelay relay(WebSocketRelay::Hop::core,
                             {*upstream_, *link_, config_->upstream_response_timeout},
                             {bytes_out_, bytes_in_}, websockets_);
        co_await relay.run(std::move(early));
    }

    awaitable<void> fail(unsigned status, const std::string& reason) {
        context_.log.warn("upstream error trace={}: {}", trace_, reason);
        refusal_ = telemetry::kRefusalUpstream;
        detail_ = reason;
        const std::string_view title = status == 504 ? "Gateway Timeout" : "Bad Gateway";
        co_await answer(status, title,
                        "The meeting server could not be reached. Try again shortly.", {});
        log_access();
    }

    awaitable<void> answer(unsigned status, std::string_view title, std::string_view detail,
                           std::string_view refusal) {
        status_ = status;
        const std::string body = local_response_body(status, title, detail);
        if (link_->respond(local_response_headers(status, body.size()), false)) co_return;
        co_await link_->write(body);
        link_->finish();
        if (!refusal.empty()) {
            refusal_ = refusal_label_;
            detail_ = refusal;
            context_.log.info("refused trace={} host={} path={} status={}: {}", trace_, authority_,
                              path_, status, refusal);
            log_access();
        }
    }

    void log_access() const {
        context_.requests.record({at_, client_, websocket_ ? "wss" : "https",
                                  websocket_ ? std::string("GET") : method_, authority_, path_,
                                  status_, refusal_, detail_, bytes_in_, bytes_out_,
                                  std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::steady_clock::now() - start_)});
        context_.log.info(
            "access trace={} client={} method={} host={} path={} status={} in={} out={} ms={:.3f}",
            trace_, client_.empty() ? "-" : client_, websocket_ ? std::string_view("GET") : method_,
            authority_, path_, status_, bytes_in_, bytes_out_, elapsed_ms(start_));
    }

    const UpstreamContext& context_;
    const std::shared_ptr<const CoreConfig> config_;  // as it was when the stream arrived
    UpstreamPool& pool_;
    WebSocketSet& websockets_;  // the worker's, where a WebSocket relay registers
    std::shared_ptr<LinkStream> link_;
    std::string method_, path_, authority_, trace_, client_;
    allowlist::NormalizedRequest target_;  // what the allow list checked, and where it goes
    UpstreamBalancer::Service service_;    // its host and port, whose targets the balancer picks
    std::string address_;                  // the target of the current try ("10.0.0.6:443")
    std::string pool_key_;                 // "host:port@address"
    std::string failure_;                  // why the last try (or the resolver) failed
    bool link_gone_ = false;               // the edge ended the stream while it was sent on
    bool websocket_ = false;
    std::unique_ptr<Stream> upstream_;
    bool reused_ = false;    // upstream_ came from the pool
    bool reusable_ = false;  // the response was read whole and the web bridge keeps the connection
    beast::flat_buffer buffer_;
    unsigned status_ = 0;
    std::string refusal_, detail_;  // when the core answered itself
    const char* refusal_label_ = telemetry::kRefusalNoRule;
    std::uint64_t bytes_in_ = 0, bytes_out_ = 0;
    telemetry::Clock::time_point at_ = telemetry::Clock::now();
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace

std::unique_ptr<UpstreamStream> UpstreamPool::take(const std::string& key) {
    const auto now = std::chrono::steady_clock::now();
    std::erase_if(idle_, [&](const Idle& idle) { return now - idle.since >= kMaxIdleTime; });
    for (auto it = idle_.rbegin(); it != idle_.rend(); ++it) {
        if (it->key != key) continue;
        auto stream = std::move(it->stream);
        idle_.erase(std::next(it).base());
        if (!looks_closed(*stream)) return stream;
        return take(key);  // that one was closed meanwhile: try the next
    }
    return nullptr;
}

void UpstreamPool::put(std::string key, std::unique_ptr<UpstreamStream> stream) {
    if (idle_.size() >= kMaxIdle) idle_.erase(idle_.begin());  // the oldest goes
    idle_.push_back({std::move(key), std::move(stream), std::chrono::steady_clock::now()});
}

awaitable<void> forward_upstream(const UpstreamContext& context, UpstreamPool& pool,
                                 WebSocketSet& websockets, std::shared_ptr<LinkStream> stream) {
    UpstreamExchange exchange(context, pool, websockets, std::move(stream));
    co_await exchange.run();
}

}  // namespace edgeway::proxy
