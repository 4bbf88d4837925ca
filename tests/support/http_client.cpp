#include "tests/support/http_client.hpp"

#include "tests/support/data.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <array>
#include <limits>

namespace edgeway::test {
namespace {

constexpr auto use_awaitable = net::use_awaitable;
constexpr auto tuple_awaitable = net::as_tuple(net::use_awaitable);

Response to_response(http::response<http::string_body>&& message) {
    Response response;
    response.status = message.result_int();
    response.headers = std::move(message.base());
    response.body = std::move(message.body());
    return response;
}

net::awaitable<Response> async_read_response(TlsStream& stream, beast::flat_buffer& buffer,
                                             bool head_request, Millis timeout) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(256 * MiB);
    if (head_request) parser.skip(true);
    beast::get_lowest_layer(stream).expires_after(timeout);
    co_await http::async_read(stream, buffer, parser, use_awaitable);
    beast::get_lowest_layer(stream).expires_never();
    co_return to_response(parser.release());
}

net::awaitable<void> async_close(TlsStream& stream) {
    beast::get_lowest_layer(stream).expires_after(2s);
    co_await stream.async_shutdown(tuple_awaitable);  // the peer may already be gone
    beast::get_lowest_layer(stream).close();
}

}  // namespace

http::request<http::string_body> make_request(const TlsTarget& target, http::verb method,
                                              std::string path, std::string body,
                                              const Headers& headers) {
    http::request<http::string_body> req{method, path, 11};
    req.set(http::field::host, target.host());
    req.set(http::field::user_agent, "edgeway-tests");
    for (const auto& [name, value] : headers) req.set(name, value);
    if (!body.empty()) {
        req.body() = std::move(body);
        req.prepare_payload();
    }
    return req;
}

net::awaitable<Response> async_request(TlsStream& stream, beast::flat_buffer& buffer,
                                       http::request<http::string_body> req, Millis timeout) {
    beast::get_lowest_layer(stream).expires_after(timeout);
    co_await http::async_write(stream, req, use_awaitable);
    co_return co_await async_read_response(stream, buffer, req.method() == http::verb::head,
                                           timeout);
}

net::awaitable<Response> async_https(ssl::context& context, TlsTarget target,
                                     http::request<http::string_body> req) {
    TlsStream stream(co_await net::this_coro::executor, context);
    co_await async_connect(stream, target);
    beast::flat_buffer buffer;
    auto response = co_await async_request(stream, buffer, std::move(req), target.timeout);
    co_await async_close(stream);
    co_return response;
}

Response https_request(const TlsTarget& target, http::request<http::string_body> req) {
    net::io_context io;
    auto context = make_context(target);
    return run_sync(io, async_https(*context, target, std::move(req)));
}

Response https_get(const TlsTarget& target, std::string path, const Headers& headers) {
    return https_request(target,
                         make_request(target, http::verb::get, std::move(path), {}, headers));
}

HttpsConnection::HttpsConnection(TlsTarget target)
    : target_(std::move(target)), context_(make_context(target_)), stream_(io_, *context_) {
    run_sync(io_, async_connect(stream_, target_));
}

HttpsConnection::~HttpsConnection() {
    try {
        run_sync(io_, async_close(stream_));
    } catch (...) {
    }
}

Response HttpsConnection::request(http::request<http::string_body> req) {
    return run_sync(io_, async_request(stream_, buffer_, std::move(req), target_.timeout));
}

bool HttpsConnection::closed_by_server(Millis timeout) {
    auto wait = [](TlsStream& stream, Millis timeout) -> net::awaitable<bool> {
        std::array<char, 256> byte;
        beast::get_lowest_layer(stream).expires_after(timeout);
        auto [ec, n] = co_await stream.async_read_some(net::buffer(byte), tuple_awaitable);
        beast::get_lowest_layer(stream).expires_never();
        co_return ec&& ec != beast::error::timeout;
    };
    return run_sync(io_, wait(stream_, timeout));
}

void HttpsConnection::send(std::string_view bytes) {
    auto write = [](TlsStream& stream, std::string_view bytes,
                    Millis timeout) -> net::awaitable<void> {
        beast::get_lowest_layer(stream).expires_after(timeout);
        co_await net::async_write(stream, net::buffer(bytes), use_awaitable);
    };
    run_sync(io_, write(stream_, bytes, target_.timeout));
}

Response HttpsConnection::read_response() {
    return run_sync(io_, async_read_response(stream_, buffer_, false, target_.timeout));
}

HeldUpload::HeldUpload(TlsTarget target, std::string path, std::string first, std::string rest)
    : connection_(std::move(target)), rest_(std::move(rest)) {
    const TlsTarget& t = connection_.target();
    connection_.send("POST " + path + " HTTP/1.1\r\nHost: " + t.host() +
                     "\r\nUser-Agent: edgeway-tests\r\nContent-Type: "
                     "application/octet-stream\r\nContent-Length: " +
                     std::to_string(first.size() + rest_.size()) + "\r\n\r\n" + first);
}

Response HeldUpload::finish() {
    connection_.send(rest_);
    return connection_.read_response();
}

namespace {

net::awaitable<UploadResult> async_upload(ssl::context& context, TlsTarget target, std::string path,
                                          std::uint64_t bytes, bool chunked, std::uint64_t seed,
                                          http::verb method) {
    TlsStream stream(co_await net::this_coro::executor, context);
    co_await async_connect(stream, target);
    auto& socket = beast::get_lowest_layer(stream);

    http::request<http::empty_body> req{method, path, 11};
    req.set(http::field::host, target.host());
    req.set(http::field::user_agent, "edgeway-tests");
    req.set(http::field::content_type, "application/octet-stream");
    if (chunked) {
        req.chunked(true);
    } else {
        req.set(http::field::content_length, std::to_string(bytes));
    }
    UploadResult result;
    http::request_serializer<http::empty_body> serializer{req};
    socket.expires_after(target.timeout);
    auto [head_error, head_bytes] =
        co_await http::async_write_header(stream, serializer, tuple_awaitable);
    boost::system::error_code error = head_error;

    Sha256 sha;
    RandomStream random(seed);
    std::vector<char> block(256 * 1024);
    while (!error && result.sent_bytes < bytes) {
        const auto n = static_cast<std::size_t>(
            std::min<std::uint64_t>(block.size(), bytes - result.sent_bytes));
        random.fill(block.data(), n);
        sha.update(block.data(), n);
        socket.expires_after(target.timeout);
        if (chunked) {
            std::tie(error, std::ignore) = co_await net::async_write(
                stream, http::make_chunk(net::buffer(block.data(), n)), tuple_awaitable);
        } else {
            std::tie(error, std::ignore) =
                co_await net::async_write(stream, net::buffer(block.data(), n), tuple_awaitable);
        }
        if (!error) result.sent_bytes += n;
    }
    if (!error && chunked) {
        std::tie(error, std::ignore) =
            co_await net::async_write(stream, http::make_chunk_last(), tuple_awaitable);
    }
    if (error) result.write_error = error.message();
    result.sent_sha256 = sha.hex();
    beast::flat_buffer buffer;
    // Read the answer even after a failed write: the server may have answered early.
    result.response = co_await async_read_response(stream, buffer, false, target.timeout);
    co_await async_close(stream);
    co_return result;
}

net::awaitable<DownloadResult> async_download(ssl::context& context, TlsTarget target,
                                              std::string path,
                                              const std::function<void(std::uint64_t)>& progress) {
    TlsStream stream(co_await net::this_coro::executor, context);
    co_await async_connect(stream, target);
    auto& socket = beast::get_lowest_layer(stream);
    socket.expires_after(target.timeout);
    co_await http::async_write(stream, make_request(target, http::verb::get, path), use_awaitable);

    DownloadResult result;
    beast::flat_buffer buffer;
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    socket.expires_after(target.timeout);
    co_await http::async_read_header(stream, buffer, parser, use_awaitable);
    result.status = parser.get().result_int();
    result.headers = parser.get().base();

    Sha256 sha;
    std::vector<char> block(64 * 1024);
    while (!parser.is_done()) {
        parser.get().body().data = block.data();
        parser.get().body().size = block.size();
        socket.expires_after(target.timeout);
        auto [error, n] = co_await http::async_read_some(stream, buffer, parser, tuple_awaitable);
        if (error == http::error::need_buffer) error = {};
        const std::size_t got = block.size() - parser.get().body().size;
        sha.update(block.data(), got);
        if (result.first_bytes.size() < 4096) {
            result.first_bytes.append(block.data(),
                                      std::min(got, 4096 - result.first_bytes.size()));
        }
        result.bytes += got;
        if (got > 0 && progress) progress(result.bytes);
        if (error) {
            result.error = error.message();
            break;
        }
    }
    result.complete = parser.is_done();
    result.sha256 = sha.hex();
    if (result.complete) co_await async_close(stream);
    co_return result;
}

net::awaitable<Response> async_plain(std::uint16_t port, http::verb method, std::string path,
                                     std::string host, Millis timeout) {
    beast::tcp_stream stream(co_await net::this_coro::executor);
    stream.expires_after(timeout);
    co_await stream.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port),
                                  use_awaitable);
    http::request<http::string_body> req{method, path, 11};
    req.set(http::field::host, host);
    req.set(http::field::user_agent, "edgeway-tests");
    if (method == http::verb::post || method == http::verb::put) {
        req.body() = "x=1";
        req.prepare_payload();
    }
    co_await http::async_write(stream, req, use_awaitable);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    if (method == http::verb::head) parser.skip(true);
    co_await http::async_read(stream, buffer, parser, use_awaitable);
    co_return to_response(parser.release());
}

}  // namespace

UploadResult https_upload(const TlsTarget& target, std::string path, std::uint64_t bytes,
                          bool chunked, std::uint64_t seed, http::verb method) {
    net::io_context io;
    auto context = make_context(target);
    return run_sync(io,
                    async_upload(*context, target, std::move(path), bytes, chunked, seed, method));
}

DownloadResult https_download(const TlsTarget& target, std::string path,
                              const std::function<void(std::uint64_t)>& on_progress) {
    net::io_context io;
    auto context = make_context(target);
    return run_sync(io, async_download(*context, target, std::move(path), on_progress));
}

Response http_plain_request(std::uint16_t port, http::verb method, std::string path,
                            std::string host, Millis timeout) {
    net::io_context io;
    return run_sync(io, async_plain(port, method, std::move(path), std::move(host), timeout));
}

}  // namespace edgeway::test
