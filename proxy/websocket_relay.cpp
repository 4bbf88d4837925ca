#include "proxy/websocket_relay.hpp"

#include "proxy/relay_buffer.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace edgeway::proxy {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using namespace asio::experimental::awaitable_operators;

// A relay buffer bigger than this is dropped when the WebSocket goes quiet.
constexpr std::size_t kIdleKeep = 4096;
// How long a frame under way may take to end once a close is wanted, and how long the TLS end
// then has to answer our Close with its own.
constexpr std::chrono::seconds kFrameGrace{2};
constexpr std::chrono::seconds kAnswerGrace{1};
constexpr std::string_view kRestartReason = "service restart";

// Waits until cancelled.
awaitable<void> park() {
    asio::steady_timer forever(co_await asio::this_coro::executor,
                               asio::steady_timer::time_point::max());
    co_await forever.async_wait(asio::as_tuple(use_awaitable));
}

}  // namespace

WebSocketRelay::WebSocketRelay(Hop hop, Ends ends, Counters bytes, WebSocketSet& open)
    : hop_(hop),
      ends_(ends),
      open_(open),
      from_tls_{{}, hop == Hop::edge, bytes.from_tls},
      to_tls_{{}, hop == Hop::core, bytes.to_tls},
      close_wanted_(ends.tls.get_executor()),
      progress_(ends.tls.get_executor()) {
    open_.relays_.insert(this);
    open_.in_flight_.websocket_opened();
}

WebSocketRelay::~WebSocketRelay() {
    open_.relays_.erase(this);
    open_.in_flight_.websocket_closed();
}

awaitable<void> WebSocketRelay::run(std::string early) {
    co_await (tls_to_link(std::move(early)) || link_to_tls() || closer());
}

void WebSocketRelay::close_for_restart() {
    if (closing_) return;
    closing_ = true;
    close_wanted_.notify();
}

awaitable<void> WebSocketRelay::tls_to_link(std::string early) {
    if (!early.empty() && !co_await pass(from_tls_, early)) co_return;
    std::string().swap(early);
    RelayBuffer chunk;
    for (;;) {
        auto [ec, n] = co_await relay_read(ends_.tls, chunk);
        if (ec) break;
        if (!co_await pass(from_tls_, chunk.view(n))) co_return;
        chunk.release_if_quiet(n);
    }
    tls_end_done();
    ends_.link.finish();
    // The web bridge ended the WebSocket: so does the relay. A browser that ends its side leaves
    // the end to the web bridge's answer, which comes back over the link.
    if (hop_ == Hop::core) co_return;
    co_await park();
}

awaitable<void> WebSocketRelay::link_to_tls() {
    std::string data;
    boost::system::error_code ec;
    while (!(ec = co_await ends_.link.read(data))) {
        if (!co_await pass(to_tls_, data)) co_return;
        // An idle WebSocket keeps no copy of its last message.
        if (data.capacity() > kIdleKeep) std::string().swap(data);
    }
    // The core ended the WebSocket (or the link failed): the edge's relay ends with it.
    if (hop_ == Hop::edge) co_return;
    if (ec != asio::error::eof) {
        // The edge gave up on the WebSocket: stop talking to the web bridge too.
        ends_.tls.close();
        co_return;
    }
    // The browser ended its side; the web bridge's answer ends the WebSocket.
    boost::system::error_code ignored;
    ends_.tls.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    co_await park();
}

awaitable<bool> WebSocketRelay::pass(Direction& d, std::string_view data) {
    if (d.closed) {
        // Nothing may follow our Close: what still comes is dropped, but followed, to see the
        // TLS end answer with its own Close.
        d.frames.advance(data);
        if (&d == &from_tls_ && d.frames.saw_close()) tls_end_done();
        co_return true;
    }
    const std::size_t take = d.frames.advance(data, closing_);
    d.writing = true;
    bool ok = take == 0 || co_await write(d, data.substr(0, take));
    // Read again after the write: the close may have been asked for meanwhile.
    if (ok && closing_ && d.frames.at_boundary()) ok = co_await put_close(d);
    d.writing = false;
    if (take < data.size()) {
        d.frames.advance(data.substr(take));  // frames begun after our Close: dropped
        if (&d == &from_tls_ && d.frames.saw_close()) tls_end_done();
    }
    co_return ok;
}

awaitable<bool> WebSocketRelay::write(Direction& d, std::string_view data) {
    d.bytes += data.size();
    if (&d == &from_tls_) co_return !co_await ends_.link.write(data);
    ends_.tls.expires_after(ends_.write_timeout);
    auto [ec, n] =
        co_await asio::async_write(ends_.tls, asio::buffer(data), asio::as_tuple(use_awaitable));
    // The deadline covers this write only: an idle WebSocket has none.
    if (!ec) ends_.tls.expires_never();
    co_return !ec;
}

awaitable<bool> WebSocketRelay::put_close(Direction& d) {
    d.closed = true;
    bool ok = true;
    // A Close that passed already (that end's peer is closing by itself) needs no second one.
    if (!d.frames.saw_close()) {
        const std::string frame =
            close_frame(kCloseServiceRestart, kRestartReason, d.towards_bridge);
        ok = co_await write(d, frame);
    }
    progress_.notify();
    co_return ok;
}

void WebSocketRelay::tls_end_done() {
    tls_done_ = true;
    progress_.notify();
}

awaitable<void> WebSocketRelay::closer() {
    co_await close_wanted_.wait();
    // A direction between two frames with no write under way takes its Close now; the others
    // put it in when their frame ends (pass()). Marked closed first, a direction drops what
    // arrives while its Close is written.
    for (Direction* d : {&to_tls_, &from_tls_})
        if (!d->closed && !d->writing && d->frames.at_boundary()) co_await put_close(*d);

    asio::steady_timer grace(co_await asio::this_coro::executor);
    grace.expires_after(kFrameGrace);
    while (!(to_tls_.closed && from_tls_.closed)) {
        auto woken = co_await (progress_.wait() || grace.async_wait(asio::as_tuple(use_awaitable)));
        if (woken.index() == 1) co_return;  // a frame stayed unfinished: the caller cuts it off
    }
    // END_STREAM behind the Close: the other hop delivers it and ends its side cleanly.
    ends_.link.finish();
    grace.expires_after(kAnswerGrace);
    while (!tls_done_) {
        auto woken = co_await (progress_.wait() || grace.async_wait(asio::as_tuple(use_awaitable)));
        if (woken.index() == 1) break;
    }
}

void WebSocketSet::close_all_for_restart() {
    for (WebSocketRelay* relay : relays_) relay->close_for_restart();
}

}  // namespace edgeway::proxy
