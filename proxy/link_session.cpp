// nghttp2 glue for the traversal link. nghttp2 does the framing, flow control and validation;
// this file feeds it bytes from the socket, writes what it produces, and maps its callbacks onto
// LinkStream objects. C callbacks live in Callbacks; no exception ever crosses into nghttp2.
#include "proxy/link_session.hpp"

#include "tls/tls.hpp"

#include <nghttp2/nghttp2.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <utility>

namespace edgeway::proxy {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kReadBufferSize = 64 * 1024;
constexpr std::size_t kWriteBatchSize = 64 * 1024;
// How often the keepalive loop looks at the link; bounds how late a dead peer is noticed.
constexpr std::chrono::milliseconds kKeepaliveTick{250};
// A drain's final GOAWAY follows the shutdown notice once the edge answered the PING sent with
// it, or after this long when it does not.
constexpr std::chrono::seconds kNoticeGrace{1};
// A finishing link closes once everything queued went out, or after this long.
constexpr std::chrono::seconds kFinishGrace{2};
// The opaque data of the PING sent with the shutdown notice, told apart from keepalive PINGs.
constexpr std::uint8_t kDrainPing[8] = {'e', 'd', 'g', 'e', 'd', 'r', 'n', '1'};
constexpr std::int32_t kNoticeLastStream = (1u << 31) - 1;  // what a shutdown notice carries

LinkStream* stream_of(nghttp2_session* session, std::int32_t id) {
    return static_cast<LinkStream*>(nghttp2_session_get_stream_user_data(session, id));
}

std::vector<nghttp2_nv> to_nv(const Headers& headers) {
    std::vector<nghttp2_nv> nv;
    nv.reserve(headers.size());
    for (const auto& h : headers)
        nv.push_back({reinterpret_cast<std::uint8_t*>(const_cast<char*>(h.name.data())),
                      reinterpret_cast<std::uint8_t*>(const_cast<char*>(h.value.data())),
                      h.name.size(), h.value.size(), NGHTTP2_NV_FLAG_NONE});
    return nv;
}

}  // namespace

struct LinkSession::Callbacks {
    static LinkSession& self(void* user_data) { return *static_cast<LinkSession*>(user_data); }

    static int on_begin_headers(nghttp2_session* session, const nghttp2_frame* frame,
                                void* user_data) {
        LinkSession& link = self(user_data);
        if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST ||
            link.role_ != Role::core)
            return 0;
        // Above the last stream our final GOAWAY names (submitted, not yet sent): nghttp2
        // refuses it when the GOAWAY goes out, and the edge retries it elsewhere. It must not
        // reach the web bridge meanwhile.
        if (link.last_stream_taken_ >= 0 && frame->hd.stream_id > link.last_stream_taken_) return 0;
        auto stream = std::make_shared<LinkStream>(link, link.executor());
        stream->set_id(frame->hd.stream_id);
        link.streams_[frame->hd.stream_id] = stream;
        link.streams_total_.add(1);
        link.streams_open_.value = link.streams_.size();
        nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, stream.get());
        return 0;
    }

    static int on_header(nghttp2_session* session, const nghttp2_frame* frame,
                         const std::uint8_t* name, std::size_t name_length,
                         const std::uint8_t* value, std::size_t value_length, std::uint8_t, void*) {
        if (frame->hd.type != NGHTTP2_HEADERS) return 0;
        if (LinkStream* stream = stream_of(session, frame->hd.stream_id))
            stream->on_header({reinterpret_cast<const char*>(name), name_length},
                              {reinterpret_cast<const char*>(value), value_length});
        return 0;
    }

    static int on_frame_recv(nghttp2_session* session, const nghttp2_frame* frame,
                             void* user_data) {
        LinkSession& link = self(user_data);
        switch (frame->hd.type) {
            case NGHTTP2_SETTINGS:
                if (!(frame->hd.flags & NGHTTP2_FLAG_ACK) && !link.ready_) {
                    link.ready_ = true;
                    link.since_ = telemetry::Clock::now().time_since_epoch().count();
                    link.up_ = true;
                    link.log_.info("link up {} {}", link.role_ == Role::edge ? "from" : "to",
                                   link.peer_);
                    if (link.ready_handler_) asio::post(link.executor(), link.ready_handler_);
                }
                break;
            case NGHTTP2_GOAWAY:
                link.on_goaway(frame->goaway.last_stream_id);
                break;
            case NGHTTP2_PING:
                if ((frame->hd.flags & NGHTTP2_FLAG_ACK) && link.draining_ &&
                    std::equal(std::begin(kDrainPing), std::end(kDrainPing),
                               frame->ping.opaque_data))
                    link.send_final_goaway();
                break;
            case NGHTTP2_HEADERS:
                if (LinkStream* stream = stream_of(session, frame->hd.stream_id)) {
                    const bool end = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
                    stream->on_headers_complete(end);
                    if (frame->headers.cat == NGHTTP2_HCAT_REQUEST && link.stream_handler_) {
                        auto it = link.streams_.find(frame->hd.stream_id);
                        if (it != link.streams_.end())
                            asio::post(link.executor(), [handler = link.stream_handler_,
                                                         s = it->second] { handler(s); });
                    }
                }
                break;
            case NGHTTP2_DATA:
                if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
                    if (LinkStream* stream = stream_of(session, frame->hd.stream_id))
                        stream->on_peer_end();
                break;
            default:
                break;
        }
        return 0;
    }

    static int on_data_chunk(nghttp2_session* session, std::uint8_t, std::int32_t stream_id,
                             const std::uint8_t* data, std::size_t length, void*) {
        if (LinkStream* stream = stream_of(session, stream_id))
            stream->on_data(data, length);
        else
            nghttp2_session_consume_connection(session, length);
        return 0;
    }

    static int on_stream_close(nghttp2_session* session, std::int32_t stream_id,
                               std::uint32_t error_code, void* user_data) {
        if (LinkStream* stream = stream_of(session, stream_id)) {
            stream->on_closed(error_code);
            self(user_data).forget(stream_id);
        }
        return 0;
    }

    static ssize_t read_data(nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t length,
                             std::uint32_t* flags, nghttp2_data_source* source, void*) {
        return static_cast<LinkStream*>(source->ptr)->provide(buf, length, flags);
    }

    static int on_error(nghttp2_session*, int, const char* message, std::size_t length,
                        void* user_data) {
        self(user_data).log_.debug("link {}: nghttp2: {}", self(user_data).peer_,
                                   std::string_view(message, length));
        return 0;
    }
};

LinkSession::LinkSession(TlsSocket socket, Role role, Settings settings, Logger& log,
                         std::string peer)
    : socket_(std::move(socket)),
      role_(role),
      settings_(settings),
      log_(log),
      peer_(std::move(peer)),
      write_wanted_(socket_.get_executor()) {
    nghttp2_session_callbacks* callbacks = nullptr;
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, Callbacks::on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, Callbacks::on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, Callbacks::on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, Callbacks::on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, Callbacks::on_stream_close);
    nghttp2_session_callbacks_set_error_callback2(callbacks, Callbacks::on_error);

    nghttp2_option* option = nullptr;
    nghttp2_option_new(&option);
    // Windows reopen only when the receiver has passed data on: real end-to-end backpressure.
    nghttp2_option_set_no_auto_window_update(option, 1);
    nghttp2_option_set_peer_max_concurrent_streams(option, settings_.max_concurrent_streams);
    if (role_ == Role::edge)
        nghttp2_session_client_new2(&session_, callbacks, this, option);
    else
        nghttp2_session_server_new2(&session_, callbacks, this, option);
    nghttp2_option_del(option);
    nghttp2_session_callbacks_del(callbacks);
}

LinkSession::~LinkSession() {
    nghttp2_session_del(session_);
}

awaitable<std::string> LinkSession::run() {
    auto keep_alive = shared_from_this();
    socket_.expires_never();
    socket_.keep_buffers();
    last_received_ = Clock::now();
    std::vector<nghttp2_settings_entry> settings{
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, settings_.max_concurrent_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, settings_.stream_window},
    };
    // RFC 8441: the core accepts WebSocket streams as extended CONNECT.
    if (role_ == Role::core) settings.push_back({NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1});
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings.data(), settings.size());
    nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                          static_cast<std::int32_t>(settings_.connection_window));

    using namespace asio::experimental::awaitable_operators;
    try {
        co_await (read_loop() || write_loop() || keepalive_loop());
    } catch (const std::exception& e) {
        fail(e.what());
    }
    fail("closed");
    up_ = false;
    socket_.close();
    auto streams = std::move(streams_);
    streams_open_.value = 0;
    for (auto& [id, stream] : streams) stream->on_link_down();
    log_.info("link down {} {}: reason: {}", role_ == Role::edge ? "from" : "to", peer_,
              close_reason_);
    co_return close_reason_;
}

std::shared_ptr<LinkStream> LinkSession::open_stream(const Headers& headers, bool end_stream) {
    if (!ready()) return nullptr;
    auto stream = std::make_shared<LinkStream>(*this, executor());
    const auto nv = to_nv(headers);
    nghttp2_data_provider provider{};
    provider.source.ptr = stream.get();
    provider.read_callback = Callbacks::read_data;
    const std::int32_t id = nghttp2_submit_request(session_, nullptr, nv.data(), nv.size(),
                                                   end_stream ? nullptr : &provider, stream.get());
    if (id < 0) {
        log_.warn("link {}: cannot open a stream: {}", peer_, nghttp2_strerror(id));
        return nullptr;
    }
    stream->set_id(id);
    streams_[id] = stream;
    streams_total_.add(1);
    streams_open_.value = streams_.size();
    wake_writer();
    return stream;
}

boost::system::error_code LinkSession::submit_response(LinkStream& stream, const Headers& headers,
                                                       bool end_stream) {
    const auto nv = to_nv(headers);
    nghttp2_data_provider provider{};
    provider.source.ptr = &stream;
    provider.read_callback = Callbacks::read_data;
    const int rv = nghttp2_submit_response(session_, stream.id(), nv.data(), nv.size(),
                                           end_stream ? nullptr : &provider);
    if (rv != 0) {
        log_.warn("link {}: cannot answer stream {}: {}", peer_, stream.id(), nghttp2_strerror(rv));
        return boost::asio::error::invalid_argument;
    }
    wake_writer();
    return {};
}

void LinkSession::close(const std::string& reason) {
    if (closing_ && close_reason_.size()) return;
    nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                          nullptr, 0);
    fail(reason);
}

void LinkSession::drain(std::function<void()> sent) {
    final_goaway_handler_ = std::move(sent);
    if (draining_ || close_reason_.size()) return final_goaway_done();
    draining_ = true;
    closing_ = true;
    nghttp2_submit_shutdown_notice(session_);
    nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, kDrainPing);
    notice_sent_ = Clock::now();
    log_.info("link to {}: draining: GOAWAY shutdown notice sent", peer_);
    wake_writer();
}

void LinkSession::send_final_goaway() {
    if (last_stream_taken_ >= 0 || close_reason_.size()) return;
    last_stream_taken_ = nghttp2_session_get_last_proc_stream_id(session_);
    nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, last_stream_taken_, NGHTTP2_NO_ERROR,
                          nullptr, 0);
    log_.info("link to {}: GOAWAY sent, last stream {}: the edge sends later ones elsewhere", peer_,
              last_stream_taken_);
    wake_writer();
    final_goaway_done();
}

void LinkSession::final_goaway_done() {
    if (final_goaway_handler_) asio::post(executor(), std::exchange(final_goaway_handler_, {}));
}

void LinkSession::finish(const std::string& reason) {
    if (finishing_ || close_reason_.size()) return;
    finishing_ = true;
    closing_ = true;
    finish_reason_ = reason;
    finish_by_ = Clock::now() + kFinishGrace;
    // A drain's final GOAWAY waits for the edge's answer to the notice; without a drain it goes
    // now.
    if (draining_ && !final_goaway_sent())
        finish_by_ = std::max(finish_by_, notice_sent_ + kNoticeGrace + kFinishGrace);
    else if (role_ == Role::core)
        send_final_goaway();
    wake_writer();
}

void LinkSession::on_goaway(std::int32_t last_stream_id) {
    // The peer takes no new streams; those in flight (up to last_stream_id) finish, nghttp2
    // closes the later ones as REFUSED_STREAM.
    closing_ = true;
    if (role_ != Role::edge) return;
    if (last_stream_id == kNoticeLastStream)
        log_.info(
            "link from {}: GOAWAY shutdown notice: the core is draining; no new streams on it",
            peer_);
    else
        log_.info("link from {}: GOAWAY, last stream {}: no new streams on it", peer_,
                  last_stream_id);
    if (!goaway_received_ && goaway_handler_) asio::post(executor(), goaway_handler_);
    goaway_received_ = true;
}

void LinkSession::fail(const std::string& reason) {
    if (close_reason_.empty()) close_reason_ = reason;
    closing_ = true;
    final_goaway_done();
    // Ends the pending read; the other loops are cancelled when it returns.
    socket_.cancel();
    write_wanted_.notify();
}

void LinkSession::forget(std::int32_t stream_id) {
    // Called from inside nghttp2: the stream object may still be in use by the caller up the
    // stack, so it is dropped from a posted handler rather than here.
    auto it = streams_.find(stream_id);
    if (it == streams_.end()) return;
    asio::post(executor(), [stream = std::move(it->second)] {});
    streams_.erase(it);
    streams_open_.value = streams_.size();
}

telemetry::LinkStatus LinkSession::status() const {
    telemetry::LinkStatus status;
    status.peer = peer_;
    status.state = up_ ? telemetry::LinkState::active : telemetry::LinkState::connecting;
    status.since = telemetry::Clock::time_point(telemetry::Clock::duration(since_.load()));
    status.streams_open = streams_open_.get();
    status.streams_total = streams_total_.get();
    status.bytes_in = bytes_received_.get();
    status.bytes_out = bytes_sent_.get();
    return status;
}

void LinkSession::resume(std::int32_t stream_id) {
    nghttp2_session_resume_data(session_, stream_id);
    wake_writer();
}

void LinkSession::consume(std::int32_t stream_id, std::size_t bytes) {
    if (bytes == 0 || close_reason_.size()) return;
    nghttp2_session_consume(session_, stream_id, bytes);
    wake_writer();
}

void LinkSession::reset_stream(std::int32_t stream_id, std::uint32_t h2_error) {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id, h2_error);
    wake_writer();
}

awaitable<void> LinkSession::read_loop() {
    std::vector<std::uint8_t> buffer(kReadBufferSize);
    while (!close_reason_.size()) {
        auto [ec, n] =
            co_await socket_.async_read_some(asio::buffer(buffer), asio::as_tuple(use_awaitable));
        if (ec) {
            if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated)
                fail("the peer closed the connection");
            else if (ec != asio::error::operation_aborted)
                fail("read failed: " + tls::describe(ec));
            co_return;
        }
        last_received_ = Clock::now();
        bytes_received_.add(n);
        const ssize_t rv = nghttp2_session_mem_recv(session_, buffer.data(), n);
        if (rv < 0) {
            fail(std::string("HTTP/2 protocol error: ") + nghttp2_strerror(static_cast<int>(rv)));
            co_return;
        }
        wake_writer();
    }
}

awaitable<void> LinkSession::write_loop() {
    std::string batch;
    while (!close_reason_.size()) {
        batch.clear();
        for (;;) {
            const std::uint8_t* data = nullptr;
            const ssize_t n = nghttp2_session_mem_send(session_, &data);
            if (n < 0) {
                fail(std::string("HTTP/2 error: ") + nghttp2_strerror(static_cast<int>(n)));
                co_return;
            }
            if (n == 0) break;
            batch.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
            if (batch.size() >= kWriteBatchSize) break;
        }
        if (batch.empty()) {
            if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) {
                fail(finishing_         ? finish_reason_
                     : goaway_received_ ? "the core drained it (GOAWAY)"
                                        : "the HTTP/2 session ended");
                co_return;
            }
            co_await write_wanted_.wait();
            continue;
        }
        auto [ec, n] =
            co_await asio::async_write(socket_, asio::buffer(batch), asio::as_tuple(use_awaitable));
        if (ec) {
            if (ec != asio::error::operation_aborted) fail("write failed: " + tls::describe(ec));
            co_return;
        }
        bytes_sent_.add(n);
    }
}

awaitable<void> LinkSession::keepalive_loop() {
    asio::steady_timer timer(executor());
    auto last_ping = Clock::now();
    while (!close_reason_.size()) {
        timer.expires_after(kKeepaliveTick);
        co_await timer.async_wait(use_awaitable);
        const auto now = Clock::now();
        if (draining_ && now - notice_sent_ >= kNoticeGrace) send_final_goaway();
        if (finishing_ && now >= finish_by_) {
            fail(finish_reason_);
            co_return;
        }
        if (now - last_received_ > settings_.timing.dead_after) {
            fail(fmt::format(
                "no frame from the peer for {} ms (keepalive timeout)",
                std::chrono::duration_cast<std::chrono::milliseconds>(now - last_received_)
                    .count()));
            co_return;
        }
        if (now - last_ping >= settings_.timing.ping_interval) {
            nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, nullptr);
            last_ping = now;
            wake_writer();
        }
    }
}

}  // namespace edgeway::proxy
