// One stream of the traversal link: a request and its response (or a WebSocket byte stream),
// with its own flow control. All members are used on the link's executor only.
#pragma once

#include "proxy/signal.hpp"

#include <boost/system/error_code.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace edgeway::proxy {

struct Header {
    std::string name;  // lowercase, as HTTP/2 wants; pseudo-headers start with ':'
    std::string value;
};
using Headers = std::vector<Header>;

// The value of the first header with this name, or "" when absent.
std::string_view find_header(const Headers& headers, std::string_view name);

class LinkSession;

class LinkStream {
  public:
    using error_code = boost::system::error_code;

    LinkStream(LinkSession& session, const boost::asio::any_io_executor& executor);
    ~LinkStream();
    LinkStream(const LinkStream&) = delete;
    LinkStream& operator=(const LinkStream&) = delete;

    std::int32_t id() const { return id_; }

    // Waits for the peer's header block (the request on the core, the response on the edge).
    boost::asio::awaitable<error_code> wait_headers();
    const Headers& headers() const { return headers_; }
    // True when the peer's header block carried END_STREAM: no body follows.
    bool ended_with_headers() const { return ended_with_headers_; }

    // The next piece of the peer's body, moved into out. asio::error::eof once the peer has
    // finished; connection_reset when the peer reset the stream, connection_aborted when the
    // link went down. Bytes returned by one read are acknowledged to the peer (its flow-control
    // window reopened) at the next read, i.e. once the caller has passed them on.
    boost::asio::awaitable<error_code> read(std::string& out);

    // True when read() would return bytes at once.
    bool has_data() const { return !in_.empty(); }
    // True when the peer has finished and every byte was read: the next read() is eof.
    bool at_end() const { return in_.empty() && peer_ended_; }

    // Queues bytes for the peer, waiting while more than a window's worth is queued.
    boost::asio::awaitable<error_code> write(std::string_view data);
    // Ends the stream after what is queued (END_STREAM).
    void finish();
    bool finished() const { return finishing_; }
    // Abandons the stream (RST_STREAM CANCEL, or INTERNAL_ERROR when failed is set). Does
    // nothing once both sides have ended it, so nothing queued is cut off.
    void reset(bool failed = false);

    // Core side: sends the response header block; with end_stream no body follows.
    error_code respond(const Headers& headers, bool end_stream);

    // Edge side: the core refused the stream (REFUSED_STREAM, as for a stream above the last one
    // of its GOAWAY): it was never processed, and may be sent again on another link.
    bool refused() const { return refused_; }

    std::uint64_t bytes_received() const { return bytes_received_; }
    std::uint64_t bytes_sent() const { return bytes_sent_; }

  private:
    friend class LinkSession;

    // Called by the session from nghttp2's callbacks.
    void set_id(std::int32_t id) { id_ = id; }
    void on_header(std::string_view name, std::string_view value);
    void on_headers_complete(bool end_stream);
    void on_data(const std::uint8_t* data, std::size_t length);
    void on_peer_end();
    void on_closed(std::uint32_t h2_error);
    void on_link_down();
    // nghttp2's data source: copies queued bytes into buf, or defers when none are queued.
    long provide(std::uint8_t* buf, std::size_t length, std::uint32_t* flags);
    void acknowledge_handed_out();

    std::weak_ptr<LinkSession> session_;  // empty once the link is gone
    std::int32_t id_ = -1;

    Headers headers_;
    bool headers_complete_ = false;
    bool ended_with_headers_ = false;
    Signal headers_ready_;

    std::string in_;
    std::size_t handed_out_ = 0;  // bytes given to the reader, not yet acknowledged
    bool peer_ended_ = false;
    error_code failure_;  // set when the stream or link failed
    Signal readable_;

    std::string out_;
    std::size_t out_pos_ = 0;
    bool finishing_ = false;
    bool closed_ = false;
    bool refused_ = false;
    Signal writable_;

    std::uint64_t bytes_received_ = 0;
    std::uint64_t bytes_sent_ = 0;
};

}  // namespace edgeway::proxy
