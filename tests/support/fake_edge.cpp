#include "tests/support/fake_edge.hpp"

#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>

namespace edgeway::test {

namespace {

constexpr std::size_t kChunk = 64 * 1024;
constexpr std::int32_t kStreamWindow = 16 * 1024 * 1024;
constexpr std::int32_t kConnectionWindow = 64 * 1024 * 1024;

std::string openssl_errors() {
    std::string text;
    while (const unsigned long e = ERR_get_error()) {
        char buffer[256];
        ERR_error_string_n(e, buffer, sizeof buffer);
        if (!text.empty()) text += "; ";
        text += buffer;
    }
    return text.empty() ? std::string("no OpenSSL reason") : text;
}

std::string errno_text(const char* what) {
    return std::string(what) + ": " + std::strerror(errno);
}

int poll_ms(Clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
    return static_cast<int>(std::clamp<long long>(left, 0, 1000));
}

// Waits until fd is ready for events or the deadline passes; false on timeout.
bool wait_fd(int fd, short events, Clock::time_point deadline) {
    for (;;) {
        pollfd p{fd, events, 0};
        const int r = ::poll(&p, 1, poll_ms(deadline));
        if (r > 0) return true;
        if (r < 0 && errno != EINTR) throw std::runtime_error(errno_text("poll"));
        if (Clock::now() >= deadline) return false;
    }
}

std::string describe(const HeaderList& headers) {
    std::string text;
    for (const auto& [name, value] : headers) {
        if (name != ":method" && name != ":authority" && name != ":path") continue;
        if (!text.empty()) text += " ";
        text += value;
    }
    return text;
}

}  // namespace

std::string FakeResponse::header(const std::string& name) const {
    for (const auto& [n, v] : headers)
        if (n == name) return v;
    return {};
}

struct FakeEdge::Stream {
    std::int32_t id = -1;
    std::string request_body;
    std::size_t sent = 0;
    FakeResponse response;
    bool closed = false;
};

// nghttp2's callbacks. They run inside nghttp2_session_mem_recv/mem_send, which are only ever
// called with mutex_ held, so they may touch the streams freely. Nothing here throws.
struct FakeEdge::Callbacks {
    static FakeEdge& self(void* user_data) { return *static_cast<FakeEdge*>(user_data); }

    static Stream* find(void* user_data, std::int32_t id) {
        auto& streams = self(user_data).streams_;
        const auto it = streams.find(id);
        return it == streams.end() ? nullptr : it->second.get();
    }

    static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                         std::size_t name_length, const std::uint8_t* value,
                         std::size_t value_length, std::uint8_t, void* user_data) {
        if (frame->hd.type != NGHTTP2_HEADERS) return 0;
        Stream* stream = find(user_data, frame->hd.stream_id);
        if (!stream) return 0;
        const std::string_view n(reinterpret_cast<const char*>(name), name_length);
        const std::string_view v(reinterpret_cast<const char*>(value), value_length);
        if (n == ":status") {
            // nghttp2 has checked that it is three digits. A 1xx head is followed by another:
            // only the final one's headers are kept.
            unsigned status = 0;
            for (const char c : v) status = status * 10 + static_cast<unsigned>(c - '0');
            stream->response.status = status;
            stream->response.headers.clear();
        } else if (!n.empty() && n.front() != ':') {
            stream->response.headers.emplace_back(std::string(n), std::string(v));
        }
        return 0;
    }

    static int on_data_chunk(nghttp2_session*, std::uint8_t, std::int32_t stream_id,
                             const std::uint8_t* data, std::size_t length, void* user_data) {
        if (Stream* stream = find(user_data, stream_id))
            stream->response.body.append(reinterpret_cast<const char*>(data), length);
        return 0;
    }

    static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
        if (frame->hd.type == NGHTTP2_SETTINGS && !(frame->hd.flags & NGHTTP2_FLAG_ACK))
            self(user_data).settings_received_ = true;
        return 0;
    }

    static int on_stream_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t error_code,
                               void* user_data) {
        if (Stream* stream = find(user_data, stream_id)) {
            stream->closed = true;
            stream->response.reset_code = error_code;
        }
        return 0;
    }

    static ssize_t read_body(nghttp2_session*, std::int32_t, std::uint8_t* buffer,
                             std::size_t length, std::uint32_t* flags, nghttp2_data_source* source,
                             void*) {
        auto* stream = static_cast<Stream*>(source->ptr);
        const std::size_t n = std::min(length, stream->request_body.size() - stream->sent);
        std::memcpy(buffer, stream->request_body.data() + stream->sent, n);
        stream->sent += n;
        if (stream->sent == stream->request_body.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
        return static_cast<ssize_t>(n);
    }
};

FakeEdge::FakeEdge(const tls::LabPki& pki) {
    // A core that goes away mid-write must not take the test runner down.
    std::signal(SIGPIPE, SIG_IGN);
    context_ = tls::make_server_context(
        {pki.link_cert(), pki.link_key(), pki.ca_cert(), std::vector<std::string>{"h2"}});
    try {
        wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (wake_fd_ < 0) throw std::runtime_error(errno_text("eventfd"));
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (listen_fd_ < 0) throw std::runtime_error(errno_text("socket"));
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof address;
        if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
            ::listen(listen_fd_, 16) != 0 ||
            ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0)
            throw std::runtime_error(errno_text("fake edge: cannot listen on 127.0.0.1"));
        port_ = ntohs(address.sin_port);
    } catch (...) {
        if (listen_fd_ >= 0) ::close(listen_fd_);
        if (wake_fd_ >= 0) ::close(wake_fd_);
        throw;
    }
}

FakeEdge::~FakeEdge() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake();
    if (io_thread_.joinable()) io_thread_.join();
    if (ssl_) {
        SSL_shutdown(ssl_);  // best effort: close_notify if the socket takes it at once
        SSL_free(ssl_);
    }
    if (session_) nghttp2_session_del(session_);
    for (const int fd : {fd_, listen_fd_, wake_fd_})
        if (fd >= 0) ::close(fd);
}

void FakeEdge::handshake(Clock::time_point deadline, const std::string& within) {
    ssl_ = SSL_new(context_->native_handle());
    if (!ssl_ || SSL_set_fd(ssl_, fd_) != 1)
        throw std::runtime_error("fake edge: SSL_new: " + openssl_errors());
    SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    for (;;) {
        ERR_clear_error();
        const int r = SSL_accept(ssl_);
        if (r == 1) break;
        const int error = SSL_get_error(ssl_, r);
        short events = 0;
        if (error == SSL_ERROR_WANT_READ)
            events = POLLIN;
        else if (error == SSL_ERROR_WANT_WRITE)
            events = POLLOUT;
        else
            throw std::runtime_error(
                "fake edge: TLS handshake with the core failed: " + openssl_errors() +
                " (peer verification: " +
                X509_verify_cert_error_string(SSL_get_verify_result(ssl_)) + ")");
        if (!wait_fd(fd_, events, deadline))
            throw std::runtime_error("fake edge: TLS handshake not complete" + within);
    }
    if (const auto alpn = tls::negotiated_alpn(ssl_); alpn != "h2")
        throw std::runtime_error("fake edge: the core negotiated ALPN '" + alpn + "', not h2");
}

void FakeEdge::accept(Millis timeout) {
    if (fd_ >= 0) throw std::logic_error("fake edge: a core is already connected");
    const auto deadline = Clock::now() + timeout;
    const std::string within = " within " + std::to_string(timeout.count()) + " ms";

    while (fd_ < 0) {
        if (!wait_fd(listen_fd_, POLLIN, deadline))
            throw std::runtime_error("fake edge: no core connected to port " +
                                     std::to_string(port_) + within);
        fd_ = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd_ < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
            errno != ECONNABORTED)
            throw std::runtime_error(errno_text("fake edge: accept"));
    }
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    try {
        handshake(deadline, within);
    } catch (...) {
        // Leave the fake edge able to accept the core's next attempt.
        if (ssl_) SSL_free(ssl_);
        ssl_ = nullptr;
        ::close(fd_);
        fd_ = -1;
        throw;
    }

    nghttp2_session_callbacks* callbacks = nullptr;
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, Callbacks::on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, Callbacks::on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, Callbacks::on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, Callbacks::on_stream_close);
    const int created = nghttp2_session_client_new(&session_, callbacks, this);
    nghttp2_session_callbacks_del(callbacks);
    if (created != 0)
        throw std::runtime_error(std::string("nghttp2_session_client_new: ") +
                                 nghttp2_strerror(created));
    // The client connection preface: nghttp2 sends the magic with the first SETTINGS.
    const nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 1000},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kStreamWindow},
    };
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
    nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);

    io_thread_ = std::thread([this] { io_loop(); });
    std::unique_lock lock(mutex_);
    changed_.wait_until(lock, deadline, [this] { return settings_received_ || closed_; });
    if (closed_) throw std::runtime_error("fake edge: the link failed: " + close_reason_);
    if (!settings_received_)
        throw std::runtime_error("fake edge: no SETTINGS from the core" + within);
}

void FakeEdge::wake() {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto written = ::write(wake_fd_, &one, sizeof one);
}

void FakeEdge::fail(const std::string& reason) {
    if (!closed_) {
        closed_ = true;
        close_reason_ = reason;
    }
    changed_.notify_all();
}

bool FakeEdge::flush_output() {
    for (;;) {
        while (output_.size() < kChunk) {
            const std::uint8_t* data = nullptr;
            const ssize_t n = nghttp2_session_mem_send(session_, &data);
            if (n < 0) {
                fail(std::string("nghttp2: ") + nghttp2_strerror(static_cast<int>(n)));
                return false;
            }
            if (n == 0) break;
            output_.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
        }
        if (output_.empty()) return false;
        ERR_clear_error();
        const int written = SSL_write(ssl_, output_.data(), static_cast<int>(output_.size()));
        if (written > 0) {
            output_.erase(0, static_cast<std::size_t>(written));
            continue;
        }
        const int error = SSL_get_error(ssl_, written);
        if (error == SSL_ERROR_WANT_WRITE || error == SSL_ERROR_WANT_READ) return true;
        fail(error == SSL_ERROR_SYSCALL ? errno_text("TLS write")
                                        : "TLS write: " + openssl_errors());
        return false;
    }
}

void FakeEdge::read_input() {
    std::vector<std::uint8_t> buffer(kChunk);
    for (;;) {
        ERR_clear_error();
        errno = 0;
        const int n = SSL_read(ssl_, buffer.data(), static_cast<int>(buffer.size()));
        if (n > 0) {
            const ssize_t used =
                nghttp2_session_mem_recv(session_, buffer.data(), static_cast<std::size_t>(n));
            if (used < 0) {
                fail(std::string("HTTP/2 error: ") + nghttp2_strerror(static_cast<int>(used)));
                return;
            }
            continue;
        }
        const int error = SSL_get_error(ssl_, n);
        if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return;
        if (error == SSL_ERROR_ZERO_RETURN || (error == SSL_ERROR_SYSCALL && errno == 0))
            fail("the core closed the connection");
        else if (error == SSL_ERROR_SYSCALL)
            fail(errno_text("TLS read"));
        else
            fail("TLS read: " + openssl_errors());
        return;
    }
}

void FakeEdge::io_loop() {
    std::unique_lock lock(mutex_);
    while (!stopping_ && !closed_) {
        const bool blocked = flush_output();
        if (closed_) break;
        if (!blocked && !nghttp2_session_want_read(session_) &&
            !nghttp2_session_want_write(session_)) {
            fail("the HTTP/2 session ended (GOAWAY)");
            break;
        }
        lock.unlock();
        pollfd fds[2] = {{fd_, static_cast<short>(POLLIN | (blocked ? POLLOUT : 0)), 0},
                         {wake_fd_, POLLIN, 0}};
        const int r = ::poll(fds, 2, 1000);
        const int poll_errno = errno;
        if (r > 0 && (fds[1].revents & POLLIN)) {
            std::uint64_t count = 0;
            [[maybe_unused]] const auto read = ::read(wake_fd_, &count, sizeof count);
        }
        lock.lock();
        if (r < 0 && poll_errno != EINTR) {
            errno = poll_errno;
            fail(errno_text("poll"));
            break;
        }
        read_input();
        changed_.notify_all();
    }
    changed_.notify_all();
}

FakeEdge::Stream& FakeEdge::open_stream(const HeaderList& headers, std::string body) {
    if (!session_) throw std::logic_error("fake edge: no core connected (call accept first)");
    if (closed_) throw std::runtime_error("fake edge: the link is down: " + close_reason_);
    auto stream = std::make_unique<Stream>();
    stream->request_body = std::move(body);
    std::vector<nghttp2_nv> nv;
    nv.reserve(headers.size());
    for (const auto& [name, value] : headers)
        nv.push_back({reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                      reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
                      value.size(), NGHTTP2_NV_FLAG_NONE});
    nghttp2_data_provider provider{};
    provider.source.ptr = stream.get();
    provider.read_callback = Callbacks::read_body;
    const std::int32_t id =
        nghttp2_submit_request(session_, nullptr, nv.data(), nv.size(),
                               stream->request_body.empty() ? nullptr : &provider, nullptr);
    if (id < 0)
        throw std::runtime_error(std::string("fake edge: nghttp2_submit_request: ") +
                                 nghttp2_strerror(id));
    stream->id = id;
    Stream& result = *stream;
    streams_[id] = std::move(stream);
    wake();
    return result;
}

FakeResponse FakeEdge::request(const HeaderList& headers, std::string body, Millis timeout) {
    const auto deadline = Clock::now() + timeout;
    std::unique_lock lock(mutex_);
    Stream& stream = open_stream(headers, std::move(body));
    changed_.wait_until(lock, deadline, [&] { return stream.closed || closed_; });
    if (!stream.closed) {
        std::string why = "the link went down: " + close_reason_;
        if (!closed_) {
            why = "no complete response within " + std::to_string(timeout.count()) + " ms";
            nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream.id, NGHTTP2_CANCEL);
            wake();
        }
        // The stream's state stays (nghttp2 may still read its body) until the destructor.
        throw std::runtime_error("fake edge: request " + describe(headers) + ": " + why);
    }
    FakeResponse response = std::move(stream.response);
    streams_.erase(stream.id);
    return response;
}

std::string FakeEdge::open_feed_and_read_line(Millis timeout) {
    {
        std::lock_guard lock(mutex_);
        const Stream& stream = open_stream({{":method", "GET"},
                                            {":scheme", "https"},
                                            {":authority", "edgeway.internal"},
                                            {":path", "/allowlist"},
                                            {"x-edgeway-control", "allowlist"}},
                                           {});
        feed_stream_ = stream.id;
        feed_consumed_ = 0;
    }
    return read_feed_line(timeout);
}

std::string FakeEdge::next_feed_line(Millis timeout) {
    return read_feed_line(timeout);
}

std::string FakeEdge::read_feed_line(Millis timeout) {
    const auto deadline = Clock::now() + timeout;
    std::unique_lock lock(mutex_);
    const auto it = streams_.find(feed_stream_);
    if (it == streams_.end())
        throw std::logic_error("fake edge: no allow-list feed open (open_feed_and_read_line)");
    Stream& stream = *it->second;
    const auto line_end = [&] { return stream.response.body.find('\n', feed_consumed_); };
    const auto refused = [&] {
        return stream.response.status != 0 && stream.response.status != 200;
    };
    changed_.wait_until(lock, deadline, [&] {
        return refused() || line_end() != std::string::npos || stream.closed || closed_;
    });
    if (refused()) {
        // Let the explanation arrive too (within the same deadline), for the message.
        changed_.wait_until(lock, deadline, [&] { return stream.closed || closed_; });
        throw std::runtime_error("fake edge: the core answered the allow-list feed with status " +
                                 std::to_string(stream.response.status) + ": " +
                                 stream.response.body);
    }
    const auto end = line_end();
    if (end == std::string::npos) {
        std::string why = "no complete line within " + std::to_string(timeout.count()) + " ms";
        if (stream.closed)
            why = "the feed stream ended (HTTP/2 error code " +
                  std::to_string(stream.response.reset_code) + ")";
        else if (closed_)
            why = "the link went down: " + close_reason_;
        throw std::runtime_error("fake edge: allow-list feed: " + why);
    }
    std::string line = stream.response.body.substr(feed_consumed_, end - feed_consumed_);
    feed_consumed_ = end + 1;
    return line;
}

bool FakeEdge::connected() {
    std::lock_guard lock(mutex_);
    return session_ && !closed_;
}

std::string FakeEdge::close_reason() {
    std::lock_guard lock(mutex_);
    return close_reason_;
}

}  // namespace edgeway::test
