// A Beast WebSocket client over TLS (wss), synchronous, with timeouts on every operation.
#pragma once

#include "tests/support/tls_client.hpp"

#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <string>
#include <string_view>

namespace edgeway::test {

namespace websocket = boost::beast::websocket;
using WsStream = websocket::stream<TlsStream>;

struct WsMessage {
    bool text = false;
    std::string data;
};

// TCP + TLS + WebSocket handshake to path; message size limit 32 MiB; handshake and idle
// timeouts from target.timeout.
net::awaitable<void> async_ws_connect(WsStream& ws, const TlsTarget& target, std::string path);

class WebSocketClient {
  public:
    // Connects and completes the upgrade; throws (with the HTTP status in the message when the
    // server declined the upgrade) on failure.
    WebSocketClient(TlsTarget target, std::string path = "/ws/echo");
    ~WebSocketClient();

    void send_text(std::string_view data) { send(true, data); }
    void send_binary(std::string_view data) { send(false, data); }
    void send(bool text, std::string_view data);
    // Throws on a close from the server too (websocket::error::closed); close_reason() then
    // says which.
    WsMessage read();
    websocket::close_reason close_reason() const { return ws_.reason(); }
    // Sends a close frame with code and waits for the server's; returns the close reason the
    // server sent back.
    websocket::close_reason close(websocket::close_code code = websocket::close_code::normal);

  private:
    TlsTarget target_;
    net::io_context io_;
    std::shared_ptr<ssl::context> context_;
    WsStream ws_;
    bool closed_ = false;
};

}  // namespace edgeway::test
