#include "state/connection.hpp"

#include "tls/tls.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <utility>

namespace edgeway::state {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using asio::use_awaitable;

constexpr std::size_t kMaxAnswerBytes = 64 * 1024 * 1024;

Endpoint parse_endpoint(const std::string& url) {
    Endpoint endpoint;
    endpoint.url = url;
    std::string_view rest = url;
    if (rest.starts_with("http://")) {
        rest.remove_prefix(7);
    } else if (rest.starts_with("https://")) {
        rest.remove_prefix(8);
        endpoint.tls = true;
    } else {
        throw Error("etcd endpoint " + url + ": expected http://HOST:PORT or https://HOST:PORT");
    }
    if (rest.ends_with('/')) rest.remove_suffix(1);
    const auto colon = rest.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == rest.size() ||
        rest.substr(colon + 1).find_first_not_of("0123456789") != std::string_view::npos ||
        rest.find('/') != std::string_view::npos)
        throw Error("etcd endpoint " + url + ": expected http://HOST:PORT or https://HOST:PORT");
    endpoint.host = std::string(rest.substr(0, colon));
    if (endpoint.host.size() > 2 && endpoint.host.front() == '[')
        endpoint.host = endpoint.host.substr(1, endpoint.host.size() - 2);
    endpoint.port = std::string(rest.substr(colon + 1));
    return endpoint;
}

std::shared_ptr<asio::ssl::context> make_tls_context(const EtcdOptions& options) {
    bool any_tls = false;
    for (const auto& url : options.endpoints) any_tls = any_tls || parse_endpoint(url).tls;
    if (!any_tls) return nullptr;
    return tls::make_client_context(
        {options.ca_file, false, options.certificate_file, options.private_key_file, {}});
}

Connection::Connection(const asio::any_io_executor& executor, Endpoint endpoint,
                       asio::ssl::context* tls)
    : endpoint_(std::move(endpoint)), tls_context_(tls) {
    if (endpoint_.tls)
        secure_ = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(executor, *tls_context_);
    else
        plain_ = std::make_unique<beast::tcp_stream>(executor);
}

Connection::~Connection() = default;

beast::tcp_stream& Connection::tcp() {
    return secure_ ? secure_->next_layer() : *plain_;
}

void Connection::close() {
    beast::error_code ignored;
    tcp().socket().close(ignored);
    reusable_ = false;
}

awaitable<void> Connection::open(Millis timeout) {
    asio::ip::tcp::resolver resolver(tcp().get_executor());
    tcp().expires_after(timeout);
    const auto addresses =
        co_await resolver.async_resolve(endpoint_.host, endpoint_.port, use_awaitable);
    co_await tcp().async_connect(addresses, use_awaitable);
    tcp().socket().set_option(asio::ip::tcp::no_delay(true));
    if (secure_) {
        tls::prepare_client(secure_->native_handle(), endpoint_.host, true);
        co_await secure_->async_handshake(asio::ssl::stream_base::client, use_awaitable);
    }
    tcp().expires_never();
    reusable_ = true;
}

template <typename Stream>
awaitable<void> Connection::write(Stream& stream, const std::string& path, std::string body) {
    http::request<http::string_body> request{http::verb::post, path, 11};
    request.set(http::field::host, endpoint_.host + ":" + endpoint_.port);
    request.set(http::field::content_type, "application/json");
    // Makes a member without a leader (one cut off from a quorum) refuse at once, with
    // "etcdserver: no leader", instead of answering stale reads or hanging until its timeout;
    // a watch on it is cancelled when it loses its leader.
    request.set("Grpc-Metadata-hasleader", "true");
    request.body() = std::move(body);
    request.prepare_payload();
    co_await http::async_write(stream, request, use_awaitable);
}

awaitable<Answer> Connection::post(const std::string& path, std::string body, Millis timeout) {
    tcp().expires_after(timeout);
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxAnswerBytes);
    if (secure_) {
        co_await write(*secure_, path, std::move(body));
        co_await http::async_read(*secure_, buffer_, parser, use_awaitable);
    } else {
        co_await write(*plain_, path, std::move(body));
        co_await http::async_read(*plain_, buffer_, parser, use_awaitable);
    }
    tcp().expires_never();
    reusable_ = parser.get().keep_alive();
    co_return Answer{parser.get().result_int(), std::move(parser.get().body())};
}

awaitable<unsigned> Connection::post_streaming(const std::string& path, std::string body,
                                               Millis timeout) {
    tcp().expires_after(timeout);
    parser_ = std::make_unique<http::response_parser<http::string_body>>();
    parser_->body_limit(boost::none);
    // Chunks go to streamed_ as they come, not into a body that would grow for ever.
    on_chunk_ = [this](std::uint64_t, beast::string_view data, beast::error_code&) {
        streamed_.append(data.data(), data.size());
        return data.size();
    };
    parser_->on_chunk_body(on_chunk_);
    if (secure_) {
        co_await write(*secure_, path, std::move(body));
        co_await http::async_read_header(*secure_, buffer_, *parser_, use_awaitable);
    } else {
        co_await write(*plain_, path, std::move(body));
        co_await http::async_read_header(*plain_, buffer_, *parser_, use_awaitable);
    }
    reusable_ = false;  // a watch keeps its connection to itself
    const unsigned status = parser_->get().result_int();
    if (status != 200) {
        // An error answer is short and not chunked: read it whole within the same deadline.
        if (secure_)
            co_await http::async_read(*secure_, buffer_, *parser_, use_awaitable);
        else
            co_await http::async_read(*plain_, buffer_, *parser_, use_awaitable);
        streamed_ += parser_->get().body();
    }
    tcp().expires_never();
    co_return status;
}

awaitable<std::string> Connection::read_body() {
    while (streamed_.empty() && !parser_->is_done()) {
        if (secure_)
            co_await http::async_read_some(*secure_, buffer_, *parser_, use_awaitable);
        else
            co_await http::async_read_some(*plain_, buffer_, *parser_, use_awaitable);
    }
    co_return std::exchange(streamed_, std::string());
}

}  // namespace edgeway::state
