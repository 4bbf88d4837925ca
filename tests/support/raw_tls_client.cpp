#include "tests/support/raw_tls_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>

#include <array>

namespace edgeway::test {
namespace {

namespace http = boost::beast::http;
using namespace boost::asio::experimental::awaitable_operators;
constexpr auto tuple_awaitable = net::as_tuple(net::use_awaitable);

bool is_complete_response(const std::string& data) {
    http::response_parser<http::string_body> parser;
    parser.eager(true);
    parser.body_limit(64 * 1024 * 1024);
    boost::system::error_code ec;
    std::size_t offset = 0;
    while (offset < data.size() && !parser.is_done()) {
        const auto used = parser.put(net::buffer(data.data() + offset, data.size() - offset), ec);
        if (ec) return false;  // need_more or garbage
        if (used == 0) return false;
        offset += used;
    }
    return parser.is_done();
}

net::awaitable<void> write_all(TlsStream& stream, RawExchange& exchange, RawResult& result) {
    std::string data = std::move(exchange.first);
    while (!data.empty()) {
        auto [error, n] = co_await net::async_write(stream, net::buffer(data), tuple_awaitable);
        result.bytes_written += n;
        if (error) {
            result.write_error = error.message();
            co_return;
        }
        data = exchange.more ? exchange.more() : std::string();
        if (!data.empty() && exchange.pace.count() > 0) {
            net::steady_timer timer(co_await net::this_coro::executor, exchange.pace);
            co_await timer.async_wait(tuple_awaitable);
            if (!beast::get_lowest_layer(stream).socket().is_open()) co_return;
        }
    }
}

net::awaitable<void> read_all(TlsStream& stream, const RawExchange& exchange, RawResult& result,
                              Clock::time_point start) {
    std::array<char, 16 * 1024> block;
    for (;;) {
        auto [error, n] = co_await stream.async_read_some(net::buffer(block), tuple_awaitable);
        result.received.append(block.data(), n);
        if (error) {
            result.read_error = error.message();
            if (error == beast::error::timeout) {
                result.timed_out = true;
            } else {
                result.closed = true;
            }
            break;
        }
        if (exchange.stop_at_response && is_complete_response(result.received)) break;
    }
    result.ms_until_end = elapsed_ms(start);
    result.response_complete = is_complete_response(result.received);
    // Ends the writer too, if it is still going.
    boost::system::error_code ignored;
    beast::get_lowest_layer(stream).socket().close(ignored);
}

net::awaitable<RawResult> async_exchange(ssl::context& context, TlsTarget target,
                                         RawExchange exchange) {
    TlsStream stream(co_await net::this_coro::executor, context);
    RawResult result;
    try {
        co_await async_connect(stream, target);
        result.handshake_ok = true;
    } catch (const boost::system::system_error& e) {
        result.handshake_error = e.code().message();
        co_return result;
    }
    result.local_port = beast::get_lowest_layer(stream).socket().local_endpoint().port();
    const auto start = Clock::now();
    beast::get_lowest_layer(stream).expires_after(exchange.timeout);
    co_await (write_all(stream, exchange, result) && read_all(stream, exchange, result, start));
    co_return result;
}

}  // namespace

unsigned RawResult::status() const {
    // "HTTP/1.1 413 Payload Too Large"
    if (received.size() < 12 || received.compare(0, 5, "HTTP/") != 0) return 0;
    const auto space = received.find(' ');
    if (space == std::string::npos || space + 4 > received.size()) return 0;
    unsigned code = 0;
    for (std::size_t i = space + 1; i < space + 4; ++i) {
        if (received[i] < '0' || received[i] > '9') return 0;
        code = code * 10 + static_cast<unsigned>(received[i] - '0');
    }
    return code;
}

RawResult raw_tls_exchange(const TlsTarget& target, RawExchange exchange) {
    net::io_context io;
    auto context = make_context(target);
    return run_sync(io, async_exchange(*context, target, std::move(exchange)));
}

}  // namespace edgeway::test
