// The traversal link: HTTP/2 (nghttp2) over a mutually authenticated TLS connection. The edge is
// the HTTP/2 client (it opens a stream per browser request); the core is the HTTP/2 server.
// A session, its streams and its I/O all live on one executor, so nothing here takes a lock.
#pragma once

#include "common/log.hpp"
#include "common/telemetry.hpp"
#include "proxy/link_stream.hpp"
#include "proxy/proxy.hpp"
#include "proxy/signal.hpp"

#include "tls/stream.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

struct nghttp2_session;

namespace edgeway::proxy {

// The TLS handshake has a deadline; afterwards the link's own keepalive watches the connection.
using TlsSocket = tls::Stream;

class LinkSession : public std::enable_shared_from_this<LinkSession> {
  public:
    enum class Role { edge, core };
    // Core side: called (from a posted handler) for each request stream whose headers are in.
    using StreamHandler = std::function<void(std::shared_ptr<LinkStream>)>;

    struct Settings {
        LinkTiming timing;
        std::uint32_t stream_window = 1024 * 1024;           // per-stream receive window
        std::uint32_t connection_window = 64 * 1024 * 1024;  // whole-link receive window
        std::uint32_t max_concurrent_streams = 10000;
    };

    LinkSession(TlsSocket socket, Role role, Settings settings, Logger& log, std::string peer);
    ~LinkSession();

    void set_stream_handler(StreamHandler handler) { stream_handler_ = std::move(handler); }
    // Called (from a posted handler) once, when the peer's SETTINGS arrive and the link is up.
    void set_ready_handler(std::function<void()> handler) { ready_handler_ = std::move(handler); }
    // Edge side: called (from a posted handler) once, when the first GOAWAY arrives: the link
    // takes no new stream from then on.
    void set_goaway_handler(std::function<void()> handler) { goaway_handler_ = std::move(handler); }

    // Runs the link until it closes; returns why it closed.
    boost::asio::awaitable<std::string> run();

    // Edge side: opens a stream carrying a request; null when the link cannot take one.
    // With end_stream the request has no body; otherwise write()/finish() send it.
    std::shared_ptr<LinkStream> open_stream(const Headers& headers, bool end_stream);

    // Closes the link (GOAWAY, then the connection); streams fail with connection_aborted.
    void close(const std::string& reason);

    // Core side, a drain's start: a GOAWAY shutdown notice (the edge opens no new stream on
    // this link) with a PING; once the edge answers it (so every stream it opened before it read
    // the notice has arrived) or after a second, the final GOAWAY naming the last stream taken.
    // The edge retries the streams above it on other links: they were never processed. The
    // streams in flight go on. sent is called (from a posted handler) once the final GOAWAY is
    // submitted, or the link is gone.
    void drain(std::function<void()> sent);
    // Core side, a drain's end: the final GOAWAY (at once, or as drain() sends it); the link
    // closes once its streams have ended and everything queued went out, or two seconds later.
    void finish(const std::string& reason);

    // Usable for new streams: the peer's SETTINGS arrived and no GOAWAY either way.
    bool ready() const { return ready_ && !closing_; }
    // Edge: the core on this link has sent its allow list. Until then it may have none (a core
    // started while the cluster store is down) and would refuse what the edge allows.
    bool rules_delivered() const { return rules_delivered_; }
    void mark_rules_delivered() { rules_delivered_ = true; }
    std::size_t open_streams() const { return streams_.size(); }
    const std::string& peer() const { return peer_; }

    // The link's state and counters (peer, state, since, streams, bytes); name and domains are
    // the caller's to fill. Safe from any thread: the counters are atomics.
    telemetry::LinkStatus status() const;
    boost::asio::any_io_executor executor() { return socket_.get_executor(); }

  private:
    friend class LinkStream;
    struct Callbacks;

    boost::asio::awaitable<void> read_loop();
    boost::asio::awaitable<void> write_loop();
    boost::asio::awaitable<void> keepalive_loop();
    void fail(const std::string& reason);
    void send_final_goaway();
    void final_goaway_done();
    bool final_goaway_sent() const { return last_stream_taken_ >= 0 || !close_reason_.empty(); }
    void on_goaway(std::int32_t last_stream_id);
    void wake_writer() { write_wanted_.notify(); }
    void forget(std::int32_t stream_id);

    // For LinkStream.
    void resume(std::int32_t stream_id);
    void consume(std::int32_t stream_id, std::size_t bytes);
    void reset_stream(std::int32_t stream_id, std::uint32_t h2_error);
    boost::system::error_code submit_response(LinkStream& stream, const Headers& headers,
                                              bool end_stream);

    TlsSocket socket_;
    Role role_;
    Settings settings_;
    Logger& log_;
    std::string peer_;
    nghttp2_session* session_ = nullptr;
    StreamHandler stream_handler_;
    std::function<void()> ready_handler_;
    std::function<void()> goaway_handler_;
    std::map<std::int32_t, std::shared_ptr<LinkStream>> streams_;
    Signal write_wanted_;
    std::chrono::steady_clock::time_point last_received_;
    bool ready_ = false;
    bool rules_delivered_ = false;
    bool closing_ = false;
    std::string close_reason_;
    // Drain (core side): the shutdown notice went out at notice_sent_; the final GOAWAY names
    // last_stream_taken_ (-1 until then).
    bool draining_ = false;
    std::function<void()> final_goaway_handler_;
    std::chrono::steady_clock::time_point notice_sent_;
    std::int32_t last_stream_taken_ = -1;
    bool finishing_ = false;
    std::string finish_reason_;
    std::chrono::steady_clock::time_point finish_by_;
    bool goaway_received_ = false;  // edge side

    // Written on the link's executor only, read by the status page from another thread. One
    // writer: a relaxed load and store, no locked instruction on the hot path.
    struct Counter {
        std::atomic<std::uint64_t> value{0};
        void add(std::uint64_t n) {
            value.store(value.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
        }
        std::uint64_t get() const { return value.load(std::memory_order_relaxed); }
    };
    Counter bytes_received_, bytes_sent_, streams_total_, streams_open_;
    std::atomic<bool> up_{false};
    std::atomic<telemetry::Clock::rep> since_{telemetry::Clock::now().time_since_epoch().count()};
};

}  // namespace edgeway::proxy
