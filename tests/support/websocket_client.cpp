#include "tests/support/websocket_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>

namespace edgeway::test {

net::awaitable<void> async_ws_connect(WsStream& ws, const TlsTarget& target, std::string path) {
    co_await async_connect(ws.next_layer(), target);
    websocket::stream_base::timeout timeouts;
    timeouts.handshake_timeout = target.timeout;
    timeouts.idle_timeout = target.timeout;
    timeouts.keep_alive_pings = false;
    ws.set_option(timeouts);
    ws.read_message_max(32 * 1024 * 1024);
    ws.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
        req.set(beast::http::field::user_agent, "edgeway-tests");
    }));
    websocket::response_type response;
    auto [error] = co_await ws.async_handshake(response, target.host(), path,
                                               net::as_tuple(net::use_awaitable));
    if (error) {
        throw std::runtime_error("websocket handshake to " + path + " failed: " + error.message() +
                                 " (HTTP status " + std::to_string(response.result_int()) + ")");
    }
}

WebSocketClient::WebSocketClient(TlsTarget target, std::string path)
    : target_(std::move(target)), context_(make_context(target_)), ws_(io_, *context_) {
    run_sync(io_, async_ws_connect(ws_, target_, std::move(path)));
}

WebSocketClient::~WebSocketClient() {
    if (closed_) return;
    boost::system::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
}

void WebSocketClient::send(bool text, std::string_view data) {
    ws_.text(text);
    auto task = [](WsStream& ws, std::string_view data) -> net::awaitable<void> {
        co_await ws.async_write(net::buffer(data), net::use_awaitable);
    };
    run_sync(io_, task(ws_, data));
}

WsMessage WebSocketClient::read() {
    auto task = [](WsStream& ws) -> net::awaitable<WsMessage> {
        beast::flat_buffer buffer;
        co_await ws.async_read(buffer, net::use_awaitable);
        co_return WsMessage{ws.got_text(), beast::buffers_to_string(buffer.data())};
    };
    return run_sync(io_, task(ws_));
}

websocket::close_reason WebSocketClient::close(websocket::close_code code) {
    auto task = [](WsStream& ws, websocket::close_code code) -> net::awaitable<void> {
        co_await ws.async_close(code, net::use_awaitable);
    };
    run_sync(io_, task(ws_, code));
    closed_ = true;
    return ws_.reason();
}

}  // namespace edgeway::test
