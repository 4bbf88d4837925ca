// The demo web bridge: HTTP/1.1 keep-alive and WebSocket over TLS, one coroutine per connection
// on its own strand. Endpoints:
//   GET|HEAD /, /app.js, /style.css, /favicon.svg   the echo page and its resources
//   GET|HEAD /health                                 "ok\n"
//   GET /echo-headers                                the request line and headers as JSON
//   POST|PUT /upload                                 streams the body, answers its size and SHA-256
//   GET /download?bytes=N                            N pattern bytes (byte i is i % 251), streamed
//   GET /drip?chunks=N&interval_ms=M                 N chunks "chunk <k>\n" (k from 0), M ms apart
//   GET /status/<code>                               that status, body "status <code>\n"
//   GET /delay?ms=M                                  "ok\n" after M ms (a slow web bridge)
//   GET /ws/echo (upgrade)                           WebSocket echo, text and binary
// Every request is logged as "<METHOD> <target> <status> <body bytes out>"; 499 stands for "the
// client went away before a response" (nginx's convention).
#include "app/webbridge_demo.hpp"

#include "app/webbridge_assets.hpp"
#include "tls/tls.hpp"

#include <openssl/evp.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <exception>
#include <iostream>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>

namespace edgeway::demo {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using RequestParser = http::request_parser<http::buffer_body>;

// Expected I/O outcomes come back as values and are compared by name; see STYLE.md.
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Timeouts, one per phase.
constexpr auto kHandshakeTimeout = 10s;  // TCP accepted to TLS established
constexpr auto kIdleTimeout = 30s;       // keep-alive wait for a request, and each body read
constexpr auto kWriteTimeout = 30s;      // each response write: a stalled reader is dropped
constexpr auto kShutdownTimeout = 5s;    // waiting for the client's close_notify
constexpr auto kStopDeadline = 5s;       // webbridge_demo_main: connections get this long to close

// Limits.
constexpr std::uint32_t kHeaderLimit = 16 * 1024;
constexpr std::uint64_t kUploadLimit = std::uint64_t{2} << 30;    // 2 GiB
constexpr std::uint64_t kDiscardLimit = 1 << 20;                  // body sent where none is used
constexpr std::uint64_t kDownloadLimit = std::uint64_t{4} << 30;  // 4 GiB
constexpr std::size_t kChunkSize = 64 * 1024;                     // upload reads, download writes
constexpr std::uint64_t kDripDefaultChunks = 10;
constexpr std::uint64_t kDripMaxChunks = 100000;
constexpr std::uint64_t kDripDefaultIntervalMs = 100;
constexpr std::uint64_t kDripMaxIntervalMs = 60000;
constexpr std::size_t kWebSocketMessageLimit = 16 << 20;
constexpr std::size_t kMaxConnections = 10000;
constexpr unsigned kMaxThreads = 64;

constexpr unsigned kPatternPeriod = 251;  // a prime, so the pattern never lines up with chunk sizes
constexpr unsigned kClientClosedRequest = 499;

constexpr std::string_view kServerName = "edgeway-webbridge-demo";
constexpr std::string_view kContentSecurityPolicy = "default-src 'self'; connect-src 'self'";

// --- Small helpers ---------------------------------------------------------------------------

std::string format_endpoint(const tcp::endpoint& endpoint) {
    if (endpoint.address().is_v6()) {
        return fmt::format("[{}]:{}", endpoint.address().to_string(), endpoint.port());
    }
    return fmt::format("{}:{}", endpoint.address().to_string(), endpoint.port());
}

std::optional<std::uint64_t> parse_uint(std::string_view text) {
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

// "HOST:PORT" with an IPv4 address (empty host: all interfaces), "localhost", or "[IPv6]:PORT".
tcp::endpoint parse_listen(std::string_view text) {
    const auto invalid = [&] {
        return std::invalid_argument(
            fmt::format("invalid listen address \"{}\": expected IPv4:PORT or [IPv6]:PORT", text));
    };
    std::string_view host;
    std::string_view port;
    if (text.starts_with('[')) {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            throw invalid();
        }
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos) throw invalid();
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) throw invalid();  // IPv6 needs brackets
    }
    const auto port_number = parse_uint(port);
    if (!port_number || *port_number > 65535) throw invalid();

    asio::ip::address address = asio::ip::address_v4::any();
    if (host == "localhost") {
        address = asio::ip::address_v4::loopback();
    } else if (!host.empty()) {
        boost::system::error_code ec;
        address = asio::ip::make_address(std::string(host), ec);
        if (ec) throw invalid();
    }
    return {address, static_cast<unsigned short>(*port_number)};
}

// The value of name in a query string ("bytes=10&x=y"), or nullopt when it is absent.
std::optional<std::string_view> query_value(std::string_view query, std::string_view name) {
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        const auto eq = pair.find('=');
        if (pair.substr(0, eq) == name) {
            return eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
        }
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return std::nullopt;
}

bool is_http_error(const beast::error_code& ec) {
    return ec.category() == beast::error_code{http::error::bad_target}.category();
}

// Incremental SHA-256 through OpenSSL's EVP interface.
class Sha256 {
  public:
    Sha256() : ctx_(EVP_MD_CTX_new()) {
        if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) {
            throw std::runtime_error("SHA-256 is not available");
        }
    }
    void update(const void* data, std::size_t size) {
        if (size != 0 && EVP_DigestUpdate(ctx_.get(), data, size) != 1) {
            throw std::runtime_error("SHA-256 update failed");
        }
    }
    std::string hex_digest() {
        std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
        unsigned int size = 0;
        if (EVP_DigestFinal_ex(ctx_.get(), digest.data(), &size) != 1) {
            throw std::runtime_error("SHA-256 final failed");
        }
        std::string hex;
        hex.reserve(size * 2);
        for (unsigned int i = 0; i < size; ++i)
            fmt::format_to(std::back_inserter(hex), "{:02x}", digest[i]);
        return hex;
    }

  private:
    struct Free {
        void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
    };
    std::unique_ptr<EVP_MD_CTX, Free> ctx_;
};

// --- Connections and the server --------------------------------------------------------------

// What stop() needs to reach an open connection. Everything but executor and peer is touched on
// the connection's strand only.
struct Connection {
    Connection(asio::any_io_executor executor, std::string peer)
        : executor(std::move(executor)), peer(std::move(peer)) {}

    asio::any_io_executor executor;  // the connection's strand
    std::string peer;
    asio::cancellation_signal cancel;        // reaches whatever the session awaits (timers too)
    beast::tcp_stream* transport = nullptr;  // the socket of the stream the session owns now
};

// Publishes the socket a session owns so that stop() can close it, and withdraws it before the
// stream is destroyed.
class TransportGuard {
  public:
    TransportGuard(Connection& connection, beast::tcp_stream& transport) : connection_(connection) {
        connection_.transport = &transport;
    }
    ~TransportGuard() { connection_.transport = nullptr; }
    TransportGuard(const TransportGuard&) = delete;
    TransportGuard& operator=(const TransportGuard&) = delete;

  private:
    Connection& connection_;
};

// The server's state. Sessions hold it through shared_ptr, so it outlives the WebBridge object
// until the last of them has finished.
struct Server : std::enable_shared_from_this<Server> {
    Server(asio::io_context& io, WebBridgeOptions options, Logger& log)
        : io(io),
          options(std::move(options)),
          log(log),
          accept_strand(asio::make_strand(io)),
          acceptor(accept_strand),
          pattern(kChunkSize + kPatternPeriod) {
        // Any window [o % 251, o % 251 + 64 KiB) of this buffer holds the download bytes starting
        // at offset o, so downloads are written straight from it. Read-only from here on.
        for (std::size_t i = 0; i < pattern.size(); ++i) {
            pattern[i] = static_cast<std::uint8_t>(i % kPatternPeriod);
        }
    }

    void start();
    void stop();
    void admit(tcp::socket socket);
    void forget(std::uint64_t id);

    asio::io_context& io;
    const WebBridgeOptions options;
    Logger& log;
    std::shared_ptr<ssl::context> tls;
    asio::strand<asio::io_context::executor_type> accept_strand;
    tcp::acceptor acceptor;  // used on accept_strand once the accept loop runs
    tcp::endpoint endpoint;  // set by start()
    bool started = false;
    std::vector<std::uint8_t> pattern;

    std::atomic<bool> stopping{false};
    std::mutex mutex;  // guards the members below: sessions come and go on several threads
    std::uint64_t next_id = 0;
    std::unordered_map<std::uint64_t, std::weak_ptr<Connection>> connections;
};

// --- HTTP ------------------------------------------------------------------------------------

struct RequestInfo {
    http::verb method = http::verb::unknown;
    std::string method_name;
    std::string target;
    unsigned version = 11;
    bool keep_alive = true;
};

// How an exchange went, for the request log line and for what the session does next.
struct Outcome {
    Outcome() = default;
    Outcome(unsigned status, bool keep_alive, std::uint64_t bytes_out = 0)
        : status(status), bytes_out(bytes_out), keep_alive(keep_alive) {}

    unsigned status = 0;
    std::uint64_t bytes_out = 0;  // body bytes written
    bool keep_alive = true;
    beast::error_code error;  // the connection broke mid-exchange: the session ends
    bool upgraded = false;    // the stream now belongs to a WebSocket session
};

template <class Body>
void set_common_headers(http::response<Body>& res, const RequestInfo& info,
                        std::string_view content_type) {
    res.set(http::field::server, kServerName);
    res.set(http::field::content_type, content_type);
    // The page loads only its own script, style sheet and socket; the whole site is held to that.
    res.set("Content-Security-Policy", kContentSecurityPolicy);
    res.set("X-Content-Type-Options", "nosniff");
    res.keep_alive(info.keep_alive);
}

http::response<http::string_body> make_response(const RequestInfo& info, unsigned status,
                                                std::string_view content_type, std::string body) {
    http::response<http::string_body> res;
    res.version(info.version);
    res.result(status);
    if (res.result() == http::status::unknown) res.reason("Unknown");
    set_common_headers(res, info, content_type);
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

http::response<http::string_body> text_response(const RequestInfo& info, unsigned status,
                                                std::string body) {
    return make_response(info, status, "text/plain", std::move(body));
}

http::response<http::string_body> method_not_allowed(const RequestInfo& info,
                                                     std::string_view allow) {
    auto res = text_response(info, 405, "method not allowed\n");
    res.set(http::field::allow, allow);
    return res;
}

template <class Stream>
asio::awaitable<Outcome> send(Stream& stream, http::response<http::string_body> res,
                              bool head_only) {
    Outcome out{res.result_int(), res.keep_alive(), head_only ? 0 : res.body().size()};
    beast::get_lowest_layer(stream).expires_after(kWriteTimeout);
    beast::error_code ec;
    if (head_only) {
        // Same header, Content-Length included, and no body.
        http::response<http::empty_body> head{std::move(res.base())};
        std::tie(ec, std::ignore) = co_await http::async_write(stream, head, use_tuple);
    } else {
        std::tie(ec, std::ignore) = co_await http::async_write(stream, res, use_tuple);
    }
    if (ec) {
        out.error = ec;
        out.bytes_out = 0;
    }
    co_return out;
}

// An exchange whose request could not be read to the end because the client went away.
Outcome client_gone(const beast::error_code& ec) {
    Outcome out{kClientClosedRequest, false};
    out.error = ec;
    return out;
}

bool expects_continue(const http::request<http::buffer_body>& req) {
    return req.version() >= 11 && beast::iequals(req[http::field::expect], "100-continue");
}

// Reads the rest of a body nobody uses, so that the connection can serve the next request.
// Returns http::error::body_limit when the body is larger than is worth reading.
template <class Stream>
asio::awaitable<beast::error_code> discard_body(Stream& stream, beast::flat_buffer& buffer,
                                                RequestParser& parser) {
    std::array<char, 8192> scratch;
    std::uint64_t total = 0;
    while (!parser.is_done()) {
        parser.get().body().data = scratch.data();
        parser.get().body().size = scratch.size();
        beast::get_lowest_layer(stream).expires_after(kIdleTimeout);
        auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_tuple);
        if (ec == http::error::need_buffer) ec = {};
        if (ec) co_return ec;
        total += scratch.size() - parser.get().body().size;
        if (total > kDiscardLimit) co_return http::error::body_limit;
    }
    co_return beast::error_code{};
}

// POST|PUT /upload: hashes the body as it arrives; only one 64 KiB piece is in memory at a time.
template <class Stream>
asio::awaitable<Outcome> handle_upload(Stream& stream, beast::flat_buffer& buffer,
                                       RequestParser& parser, RequestInfo& info) {
    if (expects_continue(parser.get())) {
        // curl and others wait (up to a second) for this before sending a large body.
        http::response<http::empty_body> proceed{http::status::continue_, info.version};
        beast::get_lowest_layer(stream).expires_after(kWriteTimeout);
        auto [ec, n] = co_await http::async_write(stream, proceed, use_tuple);
        if (ec) co_return client_gone(ec);
    }

    // Beast reads only as much as the buffer has room for, and the buffer is still the size the
    // request header needed; without room, a large body arrives a kilobyte per read.
    buffer.reserve(kChunkSize);
    Sha256 sha256;
    std::uint64_t total = 0;
    std::vector<unsigned char> piece(kChunkSize);
    while (!parser.is_done()) {
        parser.get().body().data = piece.data();
        parser.get().body().size = piece.size();
        beast::get_lowest_layer(stream).expires_after(kIdleTimeout);
        auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_tuple);
        if (ec == http::error::need_buffer) ec = {};
        const std::size_t got = piece.size() - parser.get().body().size;
        sha256.update(piece.data(), got);
        total += got;
        if (ec == http::error::body_limit) {
            info.keep_alive = false;  // the rest of the body is still on its way
            auto res = text_response(info, 413, "body too large\n");
            co_return co_await send(stream, std::move(res), false);
        }
        if (ec == http::error::partial_message) co_return client_gone(ec);
        if (is_http_error(ec)) {
            info.keep_alive = false;
            auto res = text_response(info, 400, "malformed body\n");
            co_return co_await send(stream, std::move(res), false);
        }
        if (ec) co_return client_gone(ec);
    }

    nlohmann::ordered_json body{{"bytes", total}, {"sha256", sha256.hex_digest()}};
    auto res = make_response(info, 200, "application/json", body.dump());
    co_return co_await send(stream, std::move(res), false);
}

// GET /download?bytes=N: N pattern bytes written 64 KiB at a time, straight from the pattern.
template <class Stream>
asio::awaitable<Outcome> handle_download(Stream& stream, Server& server, const RequestInfo& info,
                                         std::uint64_t size) {
    http::response<http::buffer_body> res{http::status::ok, info.version};
    set_common_headers(res, info, "application/octet-stream");
    res.content_length(size);
    http::response_serializer<http::buffer_body> serializer{res};

    Outcome out{200, info.keep_alive};
    for (;;) {
        const auto length =
            static_cast<std::size_t>(std::min<std::uint64_t>(kChunkSize, size - out.bytes_out));
        auto& body = res.body();
        body.data = length == 0 ? nullptr : server.pattern.data() + out.bytes_out % kPatternPeriod;
        body.size = length;
        body.more = out.bytes_out + length < size;
        beast::get_lowest_layer(stream).expires_after(kWriteTimeout);
        auto [ec, n] = co_await http::async_write(stream, serializer, use_tuple);
        if (ec == http::error::need_buffer) ec = {};
        if (ec) {
            out.error = ec;
            co_return out;
        }
        out.bytes_out += length;
        if (serializer.is_done()) co_return out;
    }
}

// GET /drip: a chunked body trickled out on a timer, for tests that break connections mid-body.
template <class Stream>
asio::awaitable<Outcome> handle_drip(Stream& stream, const RequestInfo& info, std::uint64_t chunks,
                                     std::chrono::milliseconds interval) {
    http::response<http::empty_body> res{http::status::ok, info.version};
    set_common_headers(res, info, "text/plain");
    // HTTP/1.0 has no chunked coding: there the body ends where the connection does.
    const bool chunked = info.version >= 11;
    if (chunked) {
        res.chunked(true);
    } else {
        res.keep_alive(false);
    }
    Outcome out{200, res.keep_alive()};

    http::response_serializer<http::empty_body> serializer{res};
    beast::get_lowest_layer(stream).expires_after(kWriteTimeout);
    if (auto [ec, n] = co_await http::async_write_header(stream, serializer, use_tuple); ec) {
        out.error = ec;
        co_return out;
    }

    asio::steady_timer timer{co_await asio::this_coro::executor};
    for (std::uint64_t k = 0; k < chunks; ++k) {
        if (k > 0 && interval.count() > 0) {
            timer.expires_after(interval);
            if (auto [ec] = co_await timer.async_wait(use_tuple); ec) {
                out.error = ec;
                co_return out;
            }
        }
        const std::string line = fmt::format("chunk {}\n", k);
        beast::get_lowest_layer(stream).expires_after(kWriteTimeout);
        beast::error_code ec;
        if (chunked) {
            const auto chunk = http::make_chunk(asio::buffer(line));
            std::tie(ec, std::ignore) = co_await asio::async_write(stream, chunk, use_tuple);
        } else {
            std::tie(ec, std::ignore) =
                co_await asio::async_write(stream, asio::buffer(line), use_tuple);
        }
        if (ec) {
            out.error = ec;
            co_return out;
        }
        out.bytes_out += line.size();
    }
    if (chunked) {
        beast::get_lowest_layer(stream).expires_after(kWriteTimeout);
        const auto last = http::make_chunk_last();
        auto [ec, n] = co_await asio::async_write(stream, last, use_tuple);
        out.error = ec;
    }
    co_return out;
}

http::response<http::string_body> echo_headers(const RequestInfo& info,
                                               const http::request<http::buffer_body>& req) {
    nlohmann::ordered_json headers = nlohmann::ordered_json::object();
    for (const auto& field : req) {
        std::string name(field.name_string());
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        auto& slot = headers[name];
        if (slot.is_null()) {
            slot = std::string(field.value());
        } else {
            // A repeated header folds into one, as RFC 9110 section 5.3 allows.
            slot = slot.get<std::string>() + ", " + std::string(field.value());
        }
    }
    nlohmann::ordered_json body{
        {"method", info.method_name}, {"target", info.target}, {"headers", std::move(headers)}};
    // Header values need not be UTF-8; replace what isn't rather than fail.
    return make_response(info, 200, "application/json",
                         body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

// What a request asks for, decided from its header alone.
struct Route {
    enum class Kind { reply, upload, download, drip, delay, websocket };
    Kind kind = Kind::reply;
    http::response<http::string_body> reply;  // Kind::reply
    bool head_only = false;                   // Kind::reply: answer a HEAD, header only
    std::uint64_t count = 0;                  // download: bytes; drip: chunks
    std::chrono::milliseconds interval{};     // drip
};

Route reply(http::response<http::string_body> res, bool head_only = false) {
    Route route;
    route.reply = std::move(res);
    route.head_only = head_only;
    return route;
}

Route stream_route(Route::Kind kind, std::uint64_t count = 0,
                   std::chrono::milliseconds interval = {}) {
    Route route;
    route.kind = kind;
    route.count = count;
    route.interval = interval;
    return route;
}

Route route_request(const RequestInfo& info, const http::request<http::buffer_body>& req) {
    const std::string_view target = info.target;
    const auto question = target.find('?');
    const std::string_view path = target.substr(0, question);
    const std::string_view query =
        question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);
    const bool get = info.method == http::verb::get;
    const bool head = info.method == http::verb::head;

    if (path == "/upload") {
        if (info.method == http::verb::post || info.method == http::verb::put) {
            return stream_route(Route::Kind::upload);
        }
        return reply(method_not_allowed(info, "POST, PUT"));
    }
    if (const assets::Asset* asset = assets::find(path)) {
        if (!get && !head) return reply(method_not_allowed(info, "GET, HEAD"));
        auto res = make_response(info, 200, asset->content_type, std::string(asset->body));
        res.set(http::field::cache_control, "no-cache");
        return reply(std::move(res), head);
    }
    if (path == "/health") {
        if (!get && !head) return reply(method_not_allowed(info, "GET, HEAD"));
        return reply(text_response(info, 200, "ok\n"), head);
    }

    // The remaining endpoints are GET only.
    const bool known = path == "/echo-headers" || path == "/download" || path == "/drip" ||
                       path == "/ws/echo" || path == "/delay" || path.starts_with("/status/");
    if (!known) return reply(text_response(info, 404, "not found\n"), head);
    if (!get) return reply(method_not_allowed(info, "GET"));

    if (path == "/echo-headers") return reply(echo_headers(info, req));
    if (path == "/download") {
        const auto bytes = query_value(query, "bytes");
        const auto size = bytes ? parse_uint(*bytes) : std::nullopt;
        if (!size || *size > kDownloadLimit) {
            return reply(
                text_response(info, 400, "bytes must be an integer from 0 to 4294967296\n"));
        }
        return stream_route(Route::Kind::download, *size);
    }
    if (path == "/drip") {
        const auto chunks_text = query_value(query, "chunks");
        const auto interval_text = query_value(query, "interval_ms");
        const auto chunks = chunks_text ? parse_uint(*chunks_text) : kDripDefaultChunks;
        const auto interval = interval_text ? parse_uint(*interval_text) : kDripDefaultIntervalMs;
        if (!chunks || *chunks > kDripMaxChunks || !interval || *interval > kDripMaxIntervalMs) {
            return reply(
                text_response(info, 400, "chunks must be 0..100000 and interval_ms 0..60000\n"));
        }
        return stream_route(Route::Kind::drip, *chunks, std::chrono::milliseconds(*interval));
    }
    if (path == "/delay") {
        const auto ms_text = query_value(query, "ms");
        const auto ms = ms_text ? parse_uint(*ms_text) : std::nullopt;
        if (!ms || *ms > kDripMaxIntervalMs) {
            return reply(text_response(info, 400, "ms must be an integer from 0 to 60000\n"));
        }
        Route route = stream_route(Route::Kind::delay, 0, std::chrono::milliseconds(*ms));
        route.reply = text_response(info, 200, "ok\n");
        return route;
    }
    if (path == "/ws/echo") {
        if (websocket::is_upgrade(req)) return stream_route(Route::Kind::websocket);
        auto res = text_response(info, 426, "WebSocket upgrade required\n");
        res.set(http::field::upgrade, "websocket");
        return reply(std::move(res));
    }

    // /status/<code>
    const auto code = parse_uint(path.substr(std::string_view("/status/").size()));
    if (!code || *code < 200 || *code > 599) {
        return reply(text_response(info, 400, "status must be 200..599\n"));
    }
    const auto status = static_cast<unsigned>(*code);
    if (status == 204 || status == 304) {
        // These never carry a body, and a Content-Length: 0 would misstate (304) or is forbidden
        // (204, RFC 9110 section 8.6).
        auto res = text_response(info, status, "");
        res.erase(http::field::content_length);
        return reply(std::move(res));
    }
    return reply(text_response(info, status, fmt::format("status {}\n", status)));
}

template <class Stream>
asio::awaitable<void> run_websocket(Server& server, Connection& connection, Stream stream,
                                    http::request<http::buffer_body> req, RequestInfo info);

// Answers one request whose header has been read.
//
// Responses are built into named locals before they are awaited on: GCC 12 destroys some
// temporaries inside co_await expressions twice (seen with a conditional operator).
template <class Stream>
asio::awaitable<Outcome> respond(Server& server, Connection& connection, Stream& stream,
                                 beast::flat_buffer& buffer, RequestParser& parser,
                                 RequestInfo& info) {
    Route route = route_request(info, parser.get());
    if (route.kind == Route::Kind::upload) {
        co_return co_await handle_upload(stream, buffer, parser, info);
    }

    // Nothing else takes a body. Drop a small one to keep the connection; don't ask for a large
    // one (Expect: 100-continue) or read past kDiscardLimit: close the connection instead.
    if (!parser.is_done()) {
        beast::error_code ec = http::error::body_limit;
        if (!expects_continue(parser.get())) ec = co_await discard_body(stream, buffer, parser);
        if (ec == http::error::partial_message) co_return client_gone(ec);
        if (ec == http::error::body_limit) {
            info.keep_alive = false;
        } else if (is_http_error(ec)) {
            info.keep_alive = false;
            auto res = text_response(info, 400, "malformed body\n");
            co_return co_await send(stream, std::move(res), false);
        } else if (ec) {
            co_return client_gone(ec);
        }
        route.reply.keep_alive(info.keep_alive);
    }

    switch (route.kind) {
        case Route::Kind::download:
            co_return co_await handle_download(stream, server, info, route.count);
        case Route::Kind::drip:
            co_return co_await handle_drip(stream, info, route.count, route.interval);
        case Route::Kind::delay: {
            // The whole answer, head included, comes late: what a stalled web bridge looks like.
            asio::steady_timer timer{co_await asio::this_coro::executor};
            timer.expires_after(route.interval);
            if (auto [ec] = co_await timer.async_wait(use_tuple); ec) co_return client_gone(ec);
            break;
        }
        case Route::Kind::websocket: {
            auto req = parser.release();
            co_await run_websocket(server, connection, std::move(stream), std::move(req), info);
            Outcome out;
            out.upgraded = true;
            co_return out;
        }
        case Route::Kind::upload:
        case Route::Kind::reply:
            break;
    }
    co_return co_await send(stream, std::move(route.reply), route.head_only);
}

asio::awaitable<void> close_gracefully(TlsStream& stream) {
    // Send close_notify so the client can tell the end from a truncation; its reply (or not) no
    // longer matters.
    beast::get_lowest_layer(stream).expires_after(kShutdownTimeout);
    [[maybe_unused]] auto [ec] = co_await stream.async_shutdown(use_tuple);
}

// Serves requests on one connection until the client leaves, a response closes it, or the
// stream is handed over to a WebSocket session.
template <class Stream>
asio::awaitable<void> serve_http(Server& server, Connection& connection, Stream& stream) {
    beast::flat_buffer buffer;
    for (;;) {
        RequestParser parser;
        parser.header_limit(kHeaderLimit);
        parser.body_limit(kUploadLimit);  // checked against Content-Length as the header is read

        beast::get_lowest_layer(stream).expires_after(kIdleTimeout);
        auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
        if (ec == http::error::end_of_stream) {
            co_await close_gracefully(stream);
            co_return;
        }
        if (ec == ssl::error::stream_truncated || ec == beast::error::timeout ||
            ec == http::error::partial_message) {
            co_return;
        }
        if (is_http_error(ec)) {
            server.log.debug("{}: bad request: {}", connection.peer, ec.message());
            RequestInfo info;
            info.keep_alive = false;
            unsigned status = 400;
            if (ec == http::error::body_limit) status = 413;  // Content-Length over kUploadLimit
            if (ec == http::error::header_limit) status = 431;
            auto res = text_response(info, status, ec.message() + "\n");
            const Outcome out = co_await send(stream, std::move(res), false);
            if (!out.error) co_await close_gracefully(stream);
            co_return;
        }
        if (ec) throw boost::system::system_error(ec, "read request");

        RequestInfo info;
        info.method = parser.get().method();
        info.method_name = std::string(parser.get().method_string());
        info.target = std::string(parser.get().target());
        info.version = parser.get().version();
        info.keep_alive = parser.get().keep_alive();

        const Outcome out = co_await respond(server, connection, stream, buffer, parser, info);
        if (out.upgraded) co_return;  // the stream has been moved into the WebSocket session
        server.log.info("{} {} {} {}", info.method_name, info.target, out.status, out.bytes_out);
        if (out.error) {
            server.log.debug("{}: connection lost mid-exchange: {}", connection.peer,
                             out.error.message());
            co_return;
        }
        if (!out.keep_alive) {
            co_await close_gracefully(stream);
            co_return;
        }
    }
}

// --- WebSocket -------------------------------------------------------------------------------

template <class Stream>
asio::awaitable<void> run_websocket(Server& server, Connection& connection, Stream stream,
                                    http::request<http::buffer_body> req, RequestInfo info) {
    websocket::stream<Stream> ws{std::move(stream)};
    TransportGuard guard{connection, beast::get_lowest_layer(ws)};

    // The WebSocket stream keeps its own handshake and idle timeouts.
    beast::get_lowest_layer(ws).expires_never();
    ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    websocket::permessage_deflate deflate;
    deflate.server_enable = false;
    deflate.client_enable = false;
    ws.set_option(deflate);
    ws.read_message_max(kWebSocketMessageLimit);
    ws.auto_fragment(false);  // echo a message as one frame, not as write_buffer_bytes pieces
    ws.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, kServerName); }));

    if (auto [ec] = co_await ws.async_accept(req, use_tuple); ec) {
        // Beast has already answered a malformed upgrade with 400.
        const bool bad_request =
            ec.category() == beast::error_code{websocket::error::closed}.category();
        server.log.info("{} {} {} 0", info.method_name, info.target,
                        bad_request ? 400 : kClientClosedRequest);
        server.log.debug("{}: WebSocket handshake failed: {}", connection.peer, ec.message());
        co_return;
    }
    server.log.info("{} {} 101 0", info.method_name, info.target);

    beast::flat_buffer buffer;
    for (;;) {
        auto [read_ec, n] = co_await ws.async_read(buffer, use_tuple);
        // closed: the client's close handshake, which Beast has completed.
        if (read_ec == websocket::error::closed || read_ec == ssl::error::stream_truncated ||
            read_ec == http::error::end_of_stream) {
            co_return;
        }
        if (read_ec) throw boost::system::system_error(read_ec, "WebSocket read");
        ws.text(ws.got_text());
        auto [write_ec, m] = co_await ws.async_write(buffer.data(), use_tuple);
        if (write_ec == websocket::error::closed) co_return;
        if (write_ec) throw boost::system::system_error(write_ec, "WebSocket write");
        buffer.consume(buffer.size());
    }
}

// --- Sessions and accepting ------------------------------------------------------------------

asio::awaitable<void> run_session(std::shared_ptr<Server> server,
                                  std::shared_ptr<Connection> connection, tcp::socket socket) {
    if (server->stopping) co_return;  // stop() ran before this session's first step
    TlsStream stream{std::move(socket), *server->tls};
    TransportGuard guard{*connection, beast::get_lowest_layer(stream)};

    beast::get_lowest_layer(stream).expires_after(kHandshakeTimeout);
    if (auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, use_tuple); ec) {
        server->log.debug("{}: TLS handshake failed: {}", connection->peer,
                          tls::describe(ec, stream.native_handle()));
        co_return;
    }
    co_await serve_http(*server, *connection, stream);
}

asio::awaitable<void> accept_loop(std::shared_ptr<Server> server) {
    for (;;) {
        auto strand = asio::make_strand(server->io);  // the new connection's
        auto [ec, socket] = co_await server->acceptor.async_accept(strand, use_tuple);
        if (!server->acceptor.is_open()) co_return;  // stop()
        if (ec) {
            // Out of descriptors, or a connection reset while queued: pause rather than spin.
            server->log.warn("accept failed: {}", ec.message());
            asio::steady_timer pause{co_await asio::this_coro::executor, 100ms};
            co_await pause.async_wait(use_tuple);
            continue;
        }
        server->admit(std::move(socket));
    }
}

void Server::start() {
    if (started) throw std::logic_error("WebBridge::start called twice");
    started = true;
    const tcp::endpoint requested = parse_listen(options.listen);
    tls = tls::make_server_context(
        {options.certificate_file, options.private_key_file, {}, {"http/1.1"}});
    try {
        acceptor.open(requested.protocol());
        acceptor.set_option(asio::socket_base::reuse_address(true));
        acceptor.bind(requested);
        acceptor.listen(asio::socket_base::max_listen_connections);
        endpoint = acceptor.local_endpoint();
    } catch (const boost::system::system_error& e) {
        throw std::runtime_error(
            fmt::format("cannot listen on {}: {}", options.listen, e.code().message()));
    }
    log.info("listening on {}", format_endpoint(endpoint));
    asio::co_spawn(accept_strand, accept_loop(shared_from_this()),
                   [self = shared_from_this()](std::exception_ptr error) {
                       if (!error) return;
                       try {
                           std::rethrow_exception(error);
                       } catch (const std::exception& e) {
                           self->log.error("accept loop failed: {}", e.what());
                       }
                   });
}

void Server::admit(tcp::socket socket) {
    beast::error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    auto connection =
        std::make_shared<Connection>(socket.get_executor(), ec ? "?" : format_endpoint(remote));
    // Responses are written whole; Nagle would only hold back their last segment.
    socket.set_option(tcp::no_delay(true), ec);

    // Registered and spawned under the lock, so that stop() either sees the connection with its
    // cancellation slot in place, or the session sees `stopping` when it starts.
    std::lock_guard lock{mutex};
    if (stopping) return;
    if (connections.size() >= kMaxConnections) {
        log.warn("{}: refused, {} connections already open", connection->peer, connections.size());
        return;
    }
    const std::uint64_t id = next_id++;
    connections.emplace(id, connection);
    asio::co_spawn(
        connection->executor, run_session(shared_from_this(), connection, std::move(socket)),
        asio::bind_cancellation_slot(
            connection->cancel.slot(),
            [self = shared_from_this(), connection, id](std::exception_ptr error) {
                self->forget(id);
                if (!error) return;
                try {
                    std::rethrow_exception(error);
                } catch (const boost::system::system_error& e) {
                    // Resets, timeouts mid-body, stop(): routine for a test server.
                    self->log.debug("{}: connection ended: {}", connection->peer, e.what());
                } catch (const std::exception& e) {
                    self->log.warn("{}: connection failed: {}", connection->peer, e.what());
                }
            }));
}

void Server::forget(std::uint64_t id) {
    std::lock_guard lock{mutex};
    connections.erase(id);
}

void Server::stop() {
    std::vector<std::shared_ptr<Connection>> open;
    {
        std::lock_guard lock{mutex};
        if (stopping.exchange(true)) return;
        for (const auto& [id, weak] : connections) {
            if (auto connection = weak.lock()) open.push_back(std::move(connection));
        }
    }
    if (started) log.info("stopping; closing {} open connection(s)", open.size());
    asio::post(accept_strand, [self = shared_from_this()] {
        beast::error_code ec;
        self->acceptor.close(ec);
    });
    for (auto& connection : open) {
        asio::post(connection->executor, [connection] {
            // Cancellation reaches timers (a /drip pause); closing the socket ends any I/O.
            connection->cancel.emit(asio::cancellation_type::terminal);
            if (connection->transport != nullptr) connection->transport->close();
        });
    }
}

constexpr std::string_view kUsage =
    R"(usage: edgeway webbridge-demo [options]

A demo HTTPS + WebSocket server standing in for a meeting server's web app.

options:
  --listen ADDR:PORT   address to listen on (default 127.0.0.1:9443); [IPv6]:PORT for IPv6,
                       port 0 picks a free port
  --cert FILE          certificate chain, PEM, leaf first
  --key FILE           private key, PEM
  --state-dir DIR      without --cert/--key: use the lab PKI in DIR (created when missing)
  --threads N          worker threads (default 1)
  --log-level LEVEL    debug, info, warn or error (default info)
  --help               show this text
)";

}  // namespace

// --- Public interface ------------------------------------------------------------------------

struct WebBridge::Impl : Server {
    using Server::Server;
};

WebBridge::WebBridge(asio::io_context& io, WebBridgeOptions options, Logger& log)
    : impl_(std::make_shared<Impl>(io, std::move(options), log)) {}

WebBridge::~WebBridge() {
    impl_->stop();
}

void WebBridge::start() {
    impl_->start();
}

asio::ip::tcp::endpoint WebBridge::local_endpoint() const {
    return impl_->endpoint;
}

void WebBridge::stop() {
    impl_->stop();
}

int webbridge_demo_main(const std::vector<std::string>& args) {
    WebBridgeOptions options;
    std::filesystem::path state_dir;
    LogLevel level = LogLevel::info;
    unsigned threads = 1;

    const auto usage_error = [](const std::string& message) {
        std::cerr << "webbridge-demo: " << message << "\n(see --help)\n";
        return 2;
    };
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string name = args[i];
        std::optional<std::string> value;
        if (const auto eq = name.find('='); name.starts_with("--") && eq != std::string::npos) {
            value = name.substr(eq + 1);
            name.resize(eq);
        }
        if (name == "--help" || name == "-h") {
            std::cout << kUsage;
            return 0;
        }
        const bool takes_value = name == "--listen" || name == "--cert" || name == "--key" ||
                                 name == "--state-dir" || name == "--threads" ||
                                 name == "--log-level";
        if (!takes_value) return usage_error("unknown option " + args[i]);
        if (!value) {
            if (i + 1 >= args.size()) return usage_error(name + " needs a value");
            value = args[++i];
        }
        if (name == "--listen") {
            options.listen = *value;
        } else if (name == "--cert") {
            options.certificate_file = *value;
        } else if (name == "--key") {
            options.private_key_file = *value;
        } else if (name == "--state-dir") {
            state_dir = *value;
        } else if (name == "--threads") {
            const auto n = parse_uint(*value);
            if (!n || *n < 1 || *n > kMaxThreads) return usage_error("--threads must be 1..64");
            threads = static_cast<unsigned>(*n);
        } else if (!parse_log_level(*value, level)) {
            return usage_error("--log-level must be debug, info, warn or error");
        }
    }
    try {
        parse_listen(options.listen);
    } catch (const std::invalid_argument& e) {
        return usage_error(e.what());
    }

    Logger log("webbridge-demo", level);
    if (options.certificate_file.empty() && options.private_key_file.empty() &&
        !state_dir.empty()) {
        try {
            const tls::LabPki pki = tls::ensure_lab_pki(state_dir, {});
            options.certificate_file = pki.webbridge_cert();
            options.private_key_file = pki.webbridge_key();
        } catch (const std::exception& e) {
            log.error("lab PKI in {}: {}", state_dir.string(), e.what());
            return 1;
        }
    }
    if (options.certificate_file.empty() || options.private_key_file.empty()) {
        return usage_error("--cert and --key are required (or --state-dir for the lab PKI)");
    }

    asio::io_context io{static_cast<int>(threads)};
    WebBridge bridge{io, options, log};
    try {
        bridge.start();
    } catch (const std::exception& e) {
        log.error("{}", e.what());
        return 1;
    }

    // After a signal the connections get kStopDeadline to close before the loop is cut short.
    std::atomic<bool> stop_requested{false};
    std::chrono::steady_clock::time_point stop_deadline;
    asio::signal_set signals{io, SIGINT, SIGTERM};
    signals.async_wait([&](const boost::system::error_code& ec, int signal_number) {
        if (ec) return;
        log.info("signal {}: stopping", signal_number);
        stop_deadline = std::chrono::steady_clock::now() + kStopDeadline;
        stop_requested.store(true, std::memory_order_release);
        bridge.stop();
    });

    std::vector<std::jthread> workers;
    for (unsigned i = 1; i < threads; ++i) workers.emplace_back([&io] { io.run(); });
    while (!io.stopped()) {
        io.run_for(200ms);
        if (stop_requested.load(std::memory_order_acquire) &&
            std::chrono::steady_clock::now() >= stop_deadline) {
            log.warn("connections still open after {} s; stopping anyway", kStopDeadline.count());
            io.stop();
        }
    }
    workers.clear();  // joins
    log.info("stopped");
    return 0;
}

}  // namespace edgeway::demo
