// Port 80: every request is answered with a redirect to the same host and path over https.
// 301 for GET and HEAD (what browsers expect from an http:// link), 308 for other methods so
// that a client repeats the same method and body.
#include "proxy/edge_worker.hpp"
#include "proxy/http_util.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace edgeway::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

asio::awaitable<void> serve_redirect(const EdgeContext& context, asio::ip::tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    const auto config = context.config.get();  // kept for the connection's life
    const auto& limits = config->limits;
    for (;;) {
        http::request_parser<http::empty_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
        parser.body_limit(boost::none);  // the body is never read: the connection closes
        stream.expires_after(limits.header_timeout);
        auto [ec, n] = co_await http::async_read_header(stream, buffer, parser,
                                                        asio::as_tuple(asio::use_awaitable));
        if (ec) {
            if (ec == http::error::header_limit || ec == http::error::body_limit ||
                ec.category() == make_error_code(http::error::bad_method).category()) {
                const std::string response = local_response(400, "Bad Request", "Use https.", true);
                co_await asio::async_write(stream, asio::buffer(response),
                                           asio::as_tuple(asio::use_awaitable));
            }
            co_return;
        }
        const auto& request = parser.get();
        std::string host = host_of(request[http::field::host]);
        if (host.empty()) {
            const std::string response =
                local_response(400, "Bad Request", "The request has no valid Host header.", true);
            co_await asio::async_write(stream, asio::buffer(response),
                                       asio::as_tuple(asio::use_awaitable));
            co_return;
        }
        std::string target(request.target());
        if (target.empty() || target.front() != '/') target = "/";
        const std::uint16_t public_port = config->public_https_port.value_or(context.https_port);
        const std::string port =
            public_port == 443 ? std::string() : ":" + std::to_string(public_port);
        const bool safe =
            request.method() == http::verb::get || request.method() == http::verb::head;
        const unsigned status = safe ? 301 : 308;
        const std::string location = "https://" + host + port + target;
        const bool keep_alive = parser.is_done() && parser.keep_alive();
        const std::string response =
            local_response(status, safe ? "Moved Permanently" : "Permanent Redirect",
                           "This service is only available over https.", !keep_alive,
                           "Location: " + location + "\r\n");
        stream.expires_after(limits.io_timeout);
        auto [write_error, written] = co_await asio::async_write(
            stream, asio::buffer(response), asio::as_tuple(asio::use_awaitable));
        if (write_error || !keep_alive) break;
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}

}  // namespace edgeway::proxy
