#include "proxy/upstream_checker.hpp"

#include "proxy/http_util.hpp"
#include "proxy/upstream_connect.hpp"
#include "tls/tls.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>

namespace edgeway::proxy {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::awaitable;
using asio::use_awaitable;

namespace {

using Check = UpstreamBalancer::Check;

// Whether the target answers as a request would find it; the reason when not.
awaitable<bool> probe(const UpstreamContext& context, const Check& check, std::string& reason) {
    const auto config = context.config.get();
    const UpstreamConnect how{without_brackets(check.service.host), !config->webbridge_insecure,
                              config->upstream_connect_timeout};
    const auto tls_context = context.tls();
    if (!tls_context) {
        reason = "the web bridge CA cannot be used: " + context.tls_error();
        co_return false;
    }
    const auto stream = co_await connect_upstream(check.address, how, *tls_context, reason);
    if (!stream) co_return false;
    const std::string& path = config->upstream_health_check_path;
    if (path.empty()) co_return true;

    const std::string head = fmt::format(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: edgeway-health-check\r\n"
        "Connection: close\r\n\r\n",
        path, check.service.name());
    stream->expires_after(config->upstream_connect_timeout);
    auto [write_error, written] =
        co_await asio::async_write(*stream, asio::buffer(head), asio::as_tuple(use_awaitable));
    if (write_error) {
        reason = "health check GET " + path + " could not be sent: " + tls::describe(write_error);
        co_return false;
    }
    boost::beast::flat_buffer buffer;
    http::response_parser<http::empty_body> parser;
    auto [read_error, read] =
        co_await http::async_read_header(*stream, buffer, parser, asio::as_tuple(use_awaitable));
    if (read_error) {
        reason = "health check GET " + path + " got no answer: " + tls::describe(read_error);
        co_return false;
    }
    const unsigned status = parser.get().result_int();
    if (status < 200 || status >= 400) {
        reason = fmt::format("health check GET {} answered {}", path, status);
        co_return false;
    }
    co_return true;
}

// Always reports back, so that the target is checked again next time.
awaitable<void> check_one(const UpstreamContext& context, Check check) {
    std::string reason;
    bool up = false;
    try {
        up = co_await probe(context, check, reason);
    } catch (const std::exception& e) {
        reason = std::string("health check failed: ") + e.what();
    }
    context.balancer.checked(check, up, reason);
}

}  // namespace

awaitable<void> check_down_targets(const UpstreamContext& context) {
    auto executor = co_await asio::this_coro::executor;
    asio::steady_timer timer(executor);
    for (;;) {
        const auto config = context.config.get();
        const Millis interval = config->upstream_health_check_interval;
        for (auto& check : context.balancer.due_checks(interval)) {
            // A target its host no longer resolves to (DNS or lab table changed) is dropped;
            // an empty list means "ask DNS when connecting": keep checking then.
            const auto current = context.resolver.targets(check.service.host, check.service.port);
            if (!current.empty() &&
                std::find(current.begin(), current.end(), check.address) == current.end()) {
                context.balancer.forget(check.service, check.address);
                continue;
            }
            asio::co_spawn(executor, check_one(context, std::move(check)), asio::detached);
        }
        // Woken a few times per interval, so a target is checked within about 1.25 intervals
        // of its failure.
        timer.expires_after(std::clamp<Millis>(interval / 4, Millis(25), Millis(1000)));
        co_await timer.async_wait(use_awaitable);
    }
}

}  // namespace edgeway::proxy
