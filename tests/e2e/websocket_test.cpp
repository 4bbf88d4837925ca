// WebSockets (RFC 8441 extended CONNECT over the link) echo through the proxy.
#include "tests/e2e/e2e.hpp"

using namespace edgeway::test;

TEST_CASE("a WebSocket echoes text, binary and a 1 MiB message, then closes cleanly",
          "[e2e][websocket]") {
    Appliance app;
    WebSocketClient ws(app.target(), "/ws/echo");

    ws.send_text("hello through the link");
    auto message = ws.read();
    CHECK(message.text);
    CHECK(message.data == "hello through the link");

    RandomStream random(8441);
    const auto binary = random.bytes(1000);
    ws.send_binary(binary);
    message = ws.read();
    CHECK_FALSE(message.text);
    CHECK(message.data == binary);

    const auto big = random.bytes(1 * MiB);
    ws.send_binary(big);
    message = ws.read();
    CHECK_FALSE(message.text);
    CHECK(message.data.size() == big.size());
    CHECK(message.data == big);

    const auto reason = ws.close(websocket::close_code::normal);
    CHECK(reason.code == websocket::close_code::normal);
}

TEST_CASE("a WebSocket to a path the web bridge does not serve is refused", "[e2e][websocket]") {
    Appliance app;
    REQUIRE_THROWS_WITH(WebSocketClient(app.target(), "/no-such-socket"),
                        Contains("HTTP status 404"));
    // The proxy is still fine afterwards.
    WebSocketClient ws(app.target(), "/ws/echo");
    ws.send_text("still here");
    CHECK(ws.read().data == "still here");
    ws.close();
}
