// A stand-in for the edge's side of the traversal link, to test the core on its own: it listens
// for the core's link (mutual TLS with the lab PKI, ALPN h2) and plays the HTTP/2 client, so a
// test can open any stream it likes, including ones a real edge would never send, and see what
// the core answers. One background thread drives the socket (so the core's keepalive pings are
// answered even while the test waits for something else); the methods block with a deadline.
#pragma once

#include "tests/support/wait.hpp"

#include "tls/tls.hpp"

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

struct nghttp2_session;

namespace edgeway::test {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct FakeResponse {
    unsigned status = 0;  // the final :status
    HeaderList headers;   // regular response headers (and trailers), in order, no pseudo-headers
    std::string body;
    std::uint32_t reset_code = 0;  // HTTP/2 error code when the core reset the stream, else 0

    // The first header of that (lowercase) name, "" when there is none.
    std::string header(const std::string& name) const;
};

class FakeEdge {
  public:
    // Listens on 127.0.0.1:0 with the lab PKI's link certificate, requiring a client certificate
    // signed by its CA and offering ALPN h2 only.
    explicit FakeEdge(const tls::LabPki& pki);
    ~FakeEdge();
    FakeEdge(const FakeEdge&) = delete;
    FakeEdge& operator=(const FakeEdge&) = delete;

    std::uint16_t port() const { return port_; }
    // "127.0.0.1:<port>", as a core's "edges" entry names it.
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

    // Accepts one core connection, completes the TLS handshake (ALPN must be h2), sends the
    // HTTP/2 client preface and waits for the core's SETTINGS. Throws on failure or timeout;
    // after a failed handshake it may be called again for the core's next attempt.
    void accept(Millis timeout = 15000ms);

    // One request stream: headers as given (pseudo-headers first, names lowercase), then the
    // body (none when empty: the stream ends with the headers). Waits for the whole response.
    // Throws std::runtime_error on timeout (the stream is reset) or when the link is lost.
    FakeResponse request(const HeaderList& headers, std::string body = {},
                         Millis timeout = 10000ms);

    // Opens the allow-list feed the way the edge does and returns its first complete line
    // (without the newline). Throws when the core answers anything but 200 or on timeout.
    std::string open_feed_and_read_line(Millis timeout = 10000ms);
    // The next line on the feed opened by open_feed_and_read_line.
    std::string next_feed_line(Millis timeout = 10000ms);

    // True while the link is up; otherwise why it ended.
    bool connected();
    std::string close_reason();

  private:
    struct Stream;
    struct Callbacks;

    // TLS server handshake on fd_ (ALPN must be h2); throws on failure.
    void handshake(Clock::time_point deadline, const std::string& within);
    void io_loop();
    void wake();
    // With mutex_ held. flush_output hands nghttp2's output to TLS and returns true when TLS
    // could not take all of it yet (wait until the socket is writable); read_input feeds
    // nghttp2 whatever TLS has for it.
    bool flush_output();
    void read_input();
    void fail(const std::string& reason);
    Stream& open_stream(const HeaderList& headers, std::string body);
    std::string read_feed_line(Millis timeout);

    std::uint16_t port_ = 0;
    int listen_fd_ = -1;
    int fd_ = -1;
    int wake_fd_ = -1;
    std::shared_ptr<boost::asio::ssl::context> context_;
    SSL* ssl_ = nullptr;

    std::mutex mutex_;
    std::condition_variable changed_;
    nghttp2_session* session_ = nullptr;
    std::string output_;  // produced by nghttp2, not yet taken by TLS
    bool settings_received_ = false;
    bool closed_ = false;
    bool stopping_ = false;
    std::string close_reason_;
    std::map<std::int32_t, std::unique_ptr<Stream>> streams_;
    std::int32_t feed_stream_ = -1;
    std::size_t feed_consumed_ = 0;
    std::thread io_thread_;
};

}  // namespace edgeway::test
