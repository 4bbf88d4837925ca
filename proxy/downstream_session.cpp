// A browser's connection to the edge: TLS, then HTTP/1.1 requests one after another. Each request
// that passes the checks becomes a stream on a traversal link; its body goes up and the response
// comes down concurrently, without being buffered whole. A WebSocket upgrade becomes an RFC 8441
// extended CONNECT stream and then a plain byte pipe in both directions.
#include "proxy/edge_worker.hpp"
#include "proxy/http_util.hpp"
#include "proxy/relay_buffer.hpp"
#include "proxy/websocket_relay.hpp"

#include "tls/stream.hpp"
#include "tls/tls.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <algorithm>
#include <array>

namespace edgeway::proxy {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using asio::use_awaitable;
using Stream = tls::Stream;
using namespace asio::experimental::awaitable_operators;

constexpr std::size_t kHeadBuffer = 16 * 1024;
// A request refused by a draining core goes to another link at most this often in all, with
// at most this much of its body (read before the refusal) kept to be sent again.
constexpr int kMaxAttempts = 4;
constexpr std::size_t kMaxReplay = 64 * 1024;

// What the access log says about one request.
struct Exchange {
    std::string trace = new_trace_id();
    std::string client;
    std::string method;
    std::string host;
    std::string path;
    bool websocket = false;
    unsigned status = 0;
    std::string refusal;  // a telemetry::kRefusal… label when the edge answered itself
    std::string detail;
    std::uint64_t bytes_in = 0;
    std::uint64_t bytes_out = 0;
    telemetry::Clock::time_point at = telemetry::Clock::now();
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    bool response_started = false;
    bool upload_done = false;
    unsigned upload_failure = 0;  // status to answer when reading the body failed
    bool keep_alive = true;
    bool refused = false;  // the core refused the stream (GOAWAY race): send it elsewhere
};

// The /metrics label of a request the edge answered itself.
const char* refusal_label(unsigned status) {
    switch (status) {
        case 403:
        case 405:
            return telemetry::kRefusalNoRule;
        case 408:
            return telemetry::kRefusalTimeout;
        case 413:
        case 431:
            return telemetry::kRefusalTooLarge;
        case 502:
        case 504:
            return telemetry::kRefusalUpstream;
        case 503:
            return telemetry::kRefusalNoLink;
        default:
            return telemetry::kRefusalBadRequest;
    }
}

class DownstreamSession {
  public:
    DownstreamSession(const EdgeContext& context, EdgeWorker& worker, asio::ip::tcp::socket socket)
        : context_(context),
          worker_(worker),
          config_(context.config.get()),
          limits_(config_->limits) {
        boost::system::error_code ec;
        const auto peer = socket.remote_endpoint(ec);
        client_ = ec ? "unknown" : fmt::format("{}:{}", peer.address().to_string(), peer.port());
        stream_.emplace(std::move(socket), *context_.https_tls.load());
    }

    awaitable<void> run() {
        // Busy (counted in flight, for a drain to wait on) from the handshake on; idle only
        // while waiting for the next request on a keep-alive connection.
        busy_.emplace(context_.in_flight);
        // Room for a whole request head (and body pieces of a TLS record) in one read.
        buffer_.reserve(kHeadBuffer);
        stream_->expires_after(limits_.handshake_timeout);
        auto [ec] = co_await stream_->async_handshake(asio::ssl::stream_base::server,
                                                      asio::as_tuple(use_awaitable));
        if (ec) {
            context_.log.debug("tls handshake from {} failed: {}", client_,
                               tls::describe(ec, stream_->native_handle()));
            co_return;
        }
        bool keep_alive = true;
        for (bool first = true; keep_alive; first = false) {
            if (!first && !co_await wait_next_request()) break;
            keep_alive = co_await serve_one() && !worker_.closes_connections;
        }
        // The close_notify goes out at once; waiting for the client's is nothing to drain for.
        busy_.reset();
        stream_->expires_after(std::chrono::seconds(2));
        co_await stream_->async_shutdown(asio::as_tuple(use_awaitable));
    }

  private:
    // Between requests a connection may sit idle for the keep-alive time; the header timeout
    // starts with the first byte of the next request, so a slow sender cannot stretch it.
    // A drain (or a worker left without a link) ends the wait at once: the connection closes,
    // and a client that was about to send its next request sends it on a new connection.
    awaitable<bool> wait_next_request() {
        if (buffer_.size() > 0) co_return true;
        if (worker_.closes_connections) co_return false;
        busy_.reset();
        stream_->expires_after(limits_.keepalive_timeout);
        // Only this read is cancelled, and only while it waits: a request that has arrived is
        // never lost, it is served.
        asio::cancellation_signal wake;
        worker_.idle.insert(&wake);
        auto [ec, n] = co_await stream_->async_read_some(
            buffer_.prepare(4096),
            asio::bind_cancellation_slot(wake.slot(), asio::as_tuple(use_awaitable)));
        worker_.idle.erase(&wake);
        busy_.emplace(context_.in_flight);
        if (ec) co_return false;
        buffer_.commit(n);
        co_return true;
    }

    awaitable<bool> serve_one() {
        http::request_parser<http::empty_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(limits_.max_header_bytes));
        parser.body_limit(limits_.max_body_bytes);
        stream_->expires_after(limits_.header_timeout);
        auto [ec, n] = co_await http::async_read_header(*stream_, buffer_, parser,
                                                        asio::as_tuple(use_awaitable));
        Exchange exchange;
        exchange.client = client_;
        if (ec) {
            if (ec == http::error::end_of_stream || ec == asio::error::eof ||
                ec == asio::ssl::error::stream_truncated)
                co_return false;
            if (ec == beast::error::timeout) {
                // beast has closed the socket already: nothing can be answered.
                context_.log.info("request head from {} not complete within {} ms: dropped",
                                  client_, limits_.header_timeout.count());
                co_return false;
            }
            if (ec == http::error::header_limit)
                co_await refuse(exchange, 431, "Request Header Fields Too Large",
                                fmt::format("The request head is larger than {} bytes.",
                                            limits_.max_header_bytes));
            else if (ec == http::error::body_limit)
                co_await refuse(exchange, 413, "Payload Too Large",
                                fmt::format("The request body is larger than {} bytes.",
                                            limits_.max_body_bytes));
            else if (ec.category() == make_error_code(http::error::bad_method).category())
                co_await refuse(exchange, 400, "Bad Request",
                                "The request is not valid HTTP/1.1: " + ec.message() + ".");
            co_return false;
        }
        co_return co_await forward(parser, exchange);
    }

    awaitable<bool> forward(http::request_parser<http::empty_body>& parser, Exchange& exchange) {
        auto& request = parser.get();
        exchange.method = std::string(request.method_string());
        exchange.path = std::string(request.target());
        const std::string_view host_header = request[http::field::host];
        exchange.host = host_of(host_header);

        if (request.version() != 11) {
            co_await refuse(exchange, 505, "HTTP Version Not Supported", "Use HTTP/1.1.");
            co_return false;
        }
        // Framing that two parsers could read differently is refused outright (request
        // smuggling): one Host, and never both Content-Length and Transfer-Encoding.
        if (request.count(http::field::host) != 1) {
            co_await refuse(exchange, 400, "Bad Request", "The request needs exactly one Host.",
                            "Host header missing or repeated");
            co_return false;
        }
        if (request.count(http::field::transfer_encoding) > 0 &&
            (request.count(http::field::content_length) > 0 ||
             request.count(http::field::transfer_encoding) > 1 ||
             !beast::iequals(request[http::field::transfer_encoding], "chunked"))) {
            co_await refuse(exchange, 400, "Bad Request",
                            "Transfer-Encoding must be exactly chunked, without Content-Length.",
                            "ambiguous message framing (Transfer-Encoding)");
            co_return false;
        }

        const bool websocket = beast::websocket::is_upgrade(request);
        exchange.websocket = websocket;
        const char* sni = SSL_get_servername(stream_->native_handle(), TLSEXT_NAMETYPE_host_name);
        allowlist::RequestHead head;
        head.method = request.method_string();
        head.target = request.target();
        head.host = host_header;
        head.websocket = websocket;
        head.sni = sni ? std::string_view(sni) : std::string_view();
        head.check_sni = true;
        const auto rules = context_.rules.load();
        AccessCheck check = check_access(head, rules.get());
        if (check.status != 0) {
            co_await refuse_access(exchange, check);
            co_return check.status == 403 && parser.is_done() && parser.keep_alive();
        }
        context_.log.debug("trace={} allowed by {}", exchange.trace, check.rule);

        const bool has_body = !parser.is_done();
        const http::verb method = request.method();
        const bool expects_continue =
            !websocket && has_body && beast::iequals(request[http::field::expect], "100-continue");
        const Headers headers = request_headers(request, check.request, exchange, websocket);
        exchange.keep_alive = parser.keep_alive() && !worker_.closes_connections;
        std::optional<http::request_parser<http::buffer_body>> body_parser;
        if (has_body) body_parser.emplace(std::move(parser));
        replay_.clear();
        replay_kept_ = true;

        // A stream the core refused (it is draining: the stream raced its GOAWAY) was never
        // processed, so it goes again on another link, with the body read so far.
        for (int attempt = 1;; ++attempt) {
            auto link = worker_.pick_link();
            if (!link) {
                co_await refuse(exchange, 503, "Service Unavailable",
                                "No traversal link to the inside is up. Try again shortly.",
                                "no link");
                co_return !has_body && exchange.keep_alive;
            }
            auto stream = link->open_stream(headers, !has_body && !websocket);
            if (!stream) {
                co_await refuse(exchange, 503, "Service Unavailable",
                                "The traversal link cannot take a new request.", "link busy");
                co_return false;
            }
            if (expects_continue && attempt == 1) {
                // Answered here, so the client does not wait for the web bridge to ask for it.
                static constexpr std::string_view cont = "HTTP/1.1 100 Continue\r\n\r\n";
                stream_->expires_after(limits_.io_timeout);
                co_await asio::async_write(*stream_, asio::buffer(cont),
                                           asio::as_tuple(use_awaitable));
            }
            const auto outcome = co_await exchange_on(*stream, exchange, method,
                                                      body_parser ? &*body_parser : nullptr);
            if (outcome == Outcome::body_failed) co_return false;
            if (!exchange.refused) break;
            exchange.refused = false;
            if (attempt == kMaxAttempts || !replay_kept_) {
                co_await refuse(exchange, 503, "Service Unavailable",
                                "The inside is restarting. Try again shortly.",
                                "refused by every link tried (the cores are draining)");
                co_return false;
            }
            context_.log.info(
                "trace={} refused by {} (GOAWAY: the core is draining): sent again "
                "on another link",
                exchange.trace, link->peer());
        }
        log_access(exchange);
        co_return exchange.keep_alive && !websocket;
    }

    enum class Outcome { done, body_failed };

    // One attempt at the exchange on a stream. exchange.refused tells that the core refused
    // the stream before doing anything with it.
    awaitable<Outcome> exchange_on(LinkStream& stream, Exchange& exchange, http::verb method,
                                   http::request_parser<http::buffer_body>* body) {
        if (exchange.websocket) {
            co_await relay_websocket(stream, exchange);
            co_return Outcome::done;
        }
        if (!body) {
            co_await relay_response(stream, exchange, method);
            co_return Outcome::done;
        }
        auto result =
            co_await (relay_response(stream, exchange, method) || upload(*body, stream, exchange));
        if (exchange.refused) co_return Outcome::done;
        if (result.index() == 1 && !exchange.response_started) {
            // The body could not be read: the web bridge's answer would be about a request that
            // never arrived whole.
            stream.reset(true);
            // Named first: GCC 12 destroys a ?: temporary inside co_await arguments twice.
            const bool too_large = exchange.upload_failure == 413;
            const unsigned status = too_large ? 413 : 400;
            const std::string_view title = too_large ? "Payload Too Large" : "Bad Request";
            std::string detail = "The request body could not be read.";
            if (too_large)
                detail = fmt::format("The request body is larger than {} bytes.",
                                     limits_.max_body_bytes);
            co_await refuse(exchange, status, title, detail, "body");
            co_return Outcome::body_failed;
        }
        if (!exchange.upload_done) {
            // The response is complete but the body is not: stop the upload on both hops.
            exchange.keep_alive = false;
            stream.reset();
        }
        co_return Outcome::done;
    }

    // The body read so far, kept until the core has answered, in case it refuses the stream.
    void keep_for_replay(std::string_view piece) {
        if (!replay_kept_) return;
        if (replay_.size() + piece.size() > kMaxReplay) {
            replay_kept_ = false;
            std::string().swap(replay_);
            return;
        }
        replay_.append(piece);
    }

    // What the core receives is the normalised request: exactly what the allow list checked.
    Headers request_headers(const http::request<http::empty_body>& request,
                            const allowlist::NormalizedRequest& normalized, Exchange& exchange,
                            bool websocket) const {
        Headers headers;
        headers.reserve(16);
        if (websocket) {
            headers.push_back({":method", "CONNECT"});
            headers.push_back({":protocol", "websocket"});
        } else {
            headers.push_back({":method", exchange.method});
        }
        headers.push_back({":scheme", "https"});
        headers.push_back({":authority", normalized.authority()});
        headers.push_back({":path", normalized.target()});
        for (const auto& field : request) {
            std::string name = lowercase(field.name_string());
            // Framing and connection-level fields stay on this hop; forwarding and tracing
            // headers are the edge's to set, never the client's.
            if (is_hop_by_hop(name) || name == "host" || name == "expect" ||
                name.rfind("x-edgeway-", 0) == 0 || name == "x-forwarded-for" ||
                name == "x-forwarded-proto" || name == "x-forwarded-host" || name == "forwarded")
                continue;
            if (websocket && name == "content-length") continue;
            headers.push_back({std::move(name), std::string(field.value())});
        }
        const auto colon = client_.rfind(':');
        headers.push_back({"x-forwarded-for", client_.substr(0, colon)});
        headers.push_back({"x-forwarded-proto", "https"});
        headers.push_back({"x-forwarded-host", std::string(request[http::field::host])});
        headers.push_back({"x-edgeway-trace-id", exchange.trace});
        return headers;
    }

    // Reads the request body and sends it up the stream, then waits to be cancelled (the
    // response side decides when the exchange is over).
    awaitable<void> upload(http::request_parser<http::buffer_body>& parser, LinkStream& stream,
                           Exchange& exchange) {
        // Sent again to another link: the body read before the first one refused it.
        if (!replay_.empty() && co_await stream.write(replay_)) co_await park();
        const std::size_t size = body_buffer_size(parser.content_length());
        const std::unique_ptr<char[]> chunk(new char[size]);  // not zeroed: it is written first
        while (!parser.is_done()) {
            parser.get().body().data = chunk.get();
            parser.get().body().size = size;
            stream_->expires_after(limits_.io_timeout);
            // read_some, not read: a body arriving in small pieces is passed on as it comes.
            auto [ec, n] = co_await http::async_read_some(*stream_, buffer_, parser,
                                                          asio::as_tuple(use_awaitable));
            if (ec == http::error::need_buffer) ec = {};
            if (ec) {
                exchange.upload_failure = ec == http::error::body_limit ? 413 : 400;
                stream.reset(true);
                co_return;
            }
            const std::size_t got = size - parser.get().body().size;
            if (got == 0) continue;
            exchange.bytes_in += got;
            keep_for_replay({chunk.get(), got});
            if (auto error = co_await stream.write({chunk.get(), got})) {
                // The stream ended first (the core answered early or failed): keep waiting for
                // the response side, which knows what to tell the client.
                co_await park();
            }
        }
        stream.finish();
        exchange.upload_done = true;
        co_await park();
    }

    // Waits until cancelled.
    awaitable<void> park() {
        asio::steady_timer forever(co_await asio::this_coro::executor,
                                   asio::steady_timer::time_point::max());
        co_await forever.async_wait(use_awaitable);
    }

    awaitable<void> relay_response(LinkStream& stream, Exchange& exchange, http::verb method) {
        if (co_await stream.wait_headers()) {
            if (stream.refused()) {
                exchange.refused = true;
                co_return;
            }
            co_await bad_gateway(exchange, "the traversal link failed before the response");
            co_return;
        }
        // The core took the request: it will not be sent again.
        replay_kept_ = false;
        std::string().swap(replay_);
        const Headers& headers = stream.headers();
        const std::string_view status_text = find_header(headers, ":status");
        const unsigned status = static_cast<unsigned>(std::atoi(std::string(status_text).c_str()));
        if (status < 200 || status > 599) {
            co_await bad_gateway(exchange, "the inside sent an invalid status");
            co_return;
        }
        const std::string_view length = find_header(headers, "content-length");
        const bool no_body = method == http::verb::head || status == 204 || status == 304 ||
                             stream.ended_with_headers();
        const bool chunked = !no_body && length.empty();
        std::string head = status_line(status);
        append_fields(head, headers);
        if (chunked) head += "Transfer-Encoding: chunked\r\n";
        // A drain that began while the request was under way closes the connection after it.
        if (worker_.closes_connections) exchange.keep_alive = false;
        if (!exchange.keep_alive) head += "Connection: close\r\n";
        head += "\r\n";
        exchange.status = status;
        exchange.response_started = true;
        // When the body (or its first piece) is already here, the head goes out with it: a small
        // response is then one TLS record and one write instead of two.
        if (no_body || !stream.has_data()) {
            if (!co_await send(head)) co_return;
            head.clear();
        }

        std::string data;
        for (;;) {
            const auto ec = co_await stream.read(data);
            if (ec == asio::error::eof) break;
            if (ec) {
                // The response is cut short: the client must see an incomplete message, so the
                // connection is closed rather than reused.
                context_.log.warn("trace={} response from the inside broke off: {}", exchange.trace,
                                  ec.message());
                exchange.keep_alive = false;
                exchange.status = exchange.status ? exchange.status : 502;
                stream_->close();
                co_return;
            }
            exchange.bytes_out += data.size();
            if (no_body) continue;
            if (chunked) {
                const std::string size = fmt::format("{:x}\r\n", data.size());
                // The last piece carries the end of the body along. Decided once, before the
                // write: the stream may reach its end while the write is under way, and then the
                // terminator must still go out (below, after the loop).
                const bool last = stream.at_end();
                const std::string_view end = last ? "\r\n0\r\n\r\n" : "\r\n";
                const std::array<asio::const_buffer, 4> parts{
                    asio::buffer(head), asio::buffer(size), asio::buffer(data), asio::buffer(end)};
                if (!co_await send_buffers(parts)) co_return;
                if (last) co_return;
            } else {
                const std::array<asio::const_buffer, 2> parts{asio::buffer(head),
                                                              asio::buffer(data)};
                if (!co_await send_buffers(parts)) co_return;
            }
            head.clear();
        }
        if (chunked && !co_await send("0\r\n\r\n")) co_return;
    }

    static void append_fields(std::string& head, const Headers& headers) {
        for (const auto& h : headers) {
            if (h.name.empty() || h.name.front() == ':' || is_hop_by_hop(h.name)) continue;
            head += h.name;
            head += ": ";
            head += h.value;
            head += "\r\n";
        }
    }

    awaitable<void> relay_websocket(LinkStream& stream, Exchange& exchange) {
        if (co_await stream.wait_headers()) {
            if (stream.refused()) {
                exchange.refused = true;
                co_return;
            }
            co_await bad_gateway(exchange, "the traversal link failed before the upgrade");
            co_return;
        }
        const std::string_view status = find_header(stream.headers(), ":status");
        if (status != "200") {
            // The web bridge refused the upgrade: pass its answer on as a normal response.
            exchange.keep_alive = false;
            co_await relay_response(stream, exchange, http::verb::get);
            // Our side of the CONNECT stream was never ended: without this it would stay
            // half-open on the link until the link closes.
            stream.reset();
            co_return;
        }
        std::string head =
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
        append_fields(head, stream.headers());
        head += "\r\n";
        exchange.status = 101;
        exchange.response_started = true;
        if (!co_await send(head)) co_return;
        stream_->expires_never();
        // Bytes the client sent right behind its upgrade request are already buffered; from
        // here on the connection is a byte pipe and the request buffer is not needed again.
        std::string early = beast::buffers_to_string(buffer_.data());
        buffer_ = beast::flat_buffer();
        WebSocketRelay relay(WebSocketRelay::Hop::edge, {*stream_, stream, limits_.io_timeout},
                             {exchange.bytes_in, exchange.bytes_out}, worker_.websockets);
        co_await relay.run(std::move(early));
        stream.reset();
    }

    awaitable<bool> send(std::string_view bytes) {
        co_return co_await send_buffers(asio::buffer(bytes));
    }

    template <class Buffers>
    awaitable<bool> send_buffers(const Buffers& buffers) {
        stream_->expires_after(limits_.io_timeout);
        auto [ec, n] = co_await asio::async_write(*stream_, buffers, asio::as_tuple(use_awaitable));
        co_return !ec;
    }

    awaitable<void> bad_gateway(Exchange& exchange, std::string_view reason) {
        context_.log.warn("trace={} 502: {}", exchange.trace, reason);
        exchange.keep_alive = false;
        co_await refuse(exchange, 502, "Bad Gateway",
                        "The meeting server could not be reached. Try again shortly.", reason,
                        false);
    }

    awaitable<void> refuse_access(Exchange& exchange, const AccessCheck& check) {
        switch (check.status) {
            case 403:
                co_await refuse(exchange, 403, "Forbidden",
                                "This address is not open to the outside.", check.reason);
                break;
            case 405:
                co_await refuse(exchange, 405, "Method Not Allowed",
                                "This method is not forwarded.", check.reason);
                break;
            case 421:
                co_await refuse(exchange, 421, "Misdirected Request",
                                "The TLS server name and the Host header name different sites.",
                                check.reason);
                break;
            case 503:
                co_await refuse(exchange, 503, "Service Unavailable",
                                "The edge is not ready yet. Try again shortly.", check.reason);
                break;
            default:
                co_await refuse(exchange, 400, "Bad Request",
                                "The request target cannot be forwarded safely.", check.reason);
        }
    }

    // Answers with a page of the edge's own and logs the request as refused.
    awaitable<void> refuse(Exchange& exchange, unsigned status, std::string_view title,
                           std::string_view detail, std::string_view reason = {}, bool log = true) {
        const bool close = (status != 403 && status != 503) || worker_.closes_connections;
        exchange.status = status;
        exchange.refusal = refusal_label(status);
        exchange.detail = reason.empty() ? std::string(detail) : std::string(reason);
        exchange.response_started = true;
        const std::string response = local_response(status, title, detail, close);
        exchange.bytes_out += response.size();
        co_await send(response);
        if (log) {
            if (!reason.empty())
                context_.log.info("refused trace={} client={} host={} path={} status={}: {}",
                                  exchange.trace, exchange.client, exchange.host, exchange.path,
                                  status, reason);
            log_access(exchange);
        }
    }

    void log_access(const Exchange& exchange) const {
        context_.requests.record({exchange.at, exchange.client,
                                  exchange.websocket ? "wss" : "https", exchange.method,
                                  exchange.host, exchange.path, exchange.status, exchange.refusal,
                                  exchange.detail, exchange.bytes_in, exchange.bytes_out,
                                  std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::steady_clock::now() - exchange.start)});
        context_.log.info(
            "access trace={} client={} method={} host={} path={} status={} in={} out={} ms={:.3f}",
            exchange.trace, exchange.client, exchange.method.empty() ? "-" : exchange.method,
            exchange.host.empty() ? "-" : exchange.host,
            exchange.path.empty() ? "-" : exchange.path, exchange.status, exchange.bytes_in,
            exchange.bytes_out, elapsed_ms(exchange.start));
    }

    const EdgeContext& context_;
    EdgeWorker& worker_;
    const std::shared_ptr<const EdgeConfig> config_;  // as it was when the connection came
    const EdgeLimits& limits_;
    std::string client_;
    std::optional<Stream> stream_;
    beast::flat_buffer buffer_;
    std::optional<InFlight::Ticket> busy_;  // held while a request is under way
    std::string replay_;                    // see keep_for_replay()
    bool replay_kept_ = true;
};

}  // namespace

awaitable<void> serve_downstream(const EdgeContext& context, EdgeWorker& worker,
                                 asio::ip::tcp::socket socket) {
    DownstreamSession session(context, worker, std::move(socket));
    co_await session.run();
}

}  // namespace edgeway::proxy
