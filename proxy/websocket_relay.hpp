// A WebSocket's bytes both ways between a TLS connection and a link stream, as each proxy hop
// relays them: on the edge the TLS end is the browser, on the core the web bridge. Bytes pass
// unchanged, but the frame boundaries of each direction are followed, so that a drain can end
// the WebSocket with a Close 1012 (service restart) each way, put in between two frames: the
// browser reconnects at once (to another core), the web bridge sees a client leave cleanly.
#pragma once

#include "proxy/drain.hpp"
#include "proxy/link_stream.hpp"
#include "proxy/proxy.hpp"
#include "proxy/signal.hpp"
#include "proxy/websocket_frames.hpp"

#include "tls/stream.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <set>
#include <string>

namespace edgeway::proxy {

class WebSocketSet;

class WebSocketRelay {
  public:
    enum class Hop {
        edge,  // the TLS end is the browser
        core,  // the TLS end is the web bridge
    };
    struct Ends {
        tls::Stream& tls;
        LinkStream& link;
        Millis write_timeout;  // a write to the TLS end that makes no progress this long fails
    };
    struct Counters {
        std::uint64_t& from_tls;
        std::uint64_t& to_tls;
    };

    // Registers in `open` (the worker's set) for as long as it lives.
    WebSocketRelay(Hop hop, Ends ends, Counters bytes, WebSocketSet& open);
    ~WebSocketRelay();
    WebSocketRelay(const WebSocketRelay&) = delete;
    WebSocketRelay& operator=(const WebSocketRelay&) = delete;

    // Relays until the WebSocket ends. early: bytes from the TLS end read already (behind the
    // upgrade request, or behind the web bridge's 101).
    boost::asio::awaitable<void> run(std::string early);

    // Ends the WebSocket for a restart: a Close 1012 to both ends, each at the next frame
    // boundary of its direction; the relay ends once both went out and the TLS end answered (or
    // after a second). A frame that stays unfinished for 2 s is cut with the connection.
    void close_for_restart();

  private:
    struct Direction {
        FrameTracker frames;
        bool towards_bridge;   // a client's frames: the Close put in must be masked
        std::uint64_t& bytes;  // the access log's count
        bool writing = false;  // a write to this direction's end is under way
        bool closed = false;   // our Close went this way: nothing may follow it
    };

    boost::asio::awaitable<void> tls_to_link(std::string early);
    boost::asio::awaitable<void> link_to_tls();
    boost::asio::awaitable<void> closer();
    // Passes data on in direction d; once a close is wanted, only up to the end of the frame
    // under way, followed by the Close. False when the write failed.
    boost::asio::awaitable<bool> pass(Direction& d, std::string_view data);
    boost::asio::awaitable<bool> write(Direction& d, std::string_view data);
    boost::asio::awaitable<bool> put_close(Direction& d);
    void tls_end_done();

    Hop hop_;
    Ends ends_;
    WebSocketSet& open_;
    Direction from_tls_, to_tls_;
    bool closing_ = false;
    bool tls_done_ = false;  // the TLS end finished, or answered our Close with its own
    Signal close_wanted_;
    Signal progress_;  // a Close went out, or the TLS end finished
};

// The WebSockets open on one worker thread, used on that thread only; the node's InFlight
// counts them (for a drain's progress, from any thread).
class WebSocketSet {
  public:
    explicit WebSocketSet(InFlight& in_flight) : in_flight_(in_flight) {}
    std::size_t size() const { return relays_.size(); }
    void close_all_for_restart();

  private:
    friend class WebSocketRelay;
    InFlight& in_flight_;
    std::set<WebSocketRelay*> relays_;
};

}  // namespace edgeway::proxy
