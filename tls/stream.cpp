#include "tls/stream.hpp"

#include <openssl/err.h>
#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>

#include <array>
#include <cerrno>
#include <stdexcept>

namespace edgeway::tls {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using error_code = boost::system::error_code;

}  // namespace

struct Stream::Impl {
    Impl(asio::ip::tcp::socket s, asio::ssl::context& context)
        : socket(std::move(s)),
          timer(socket.get_executor()),
          ssl(SSL_new(context.native_handle())) {
        if (!ssl) throw std::runtime_error("cannot create a TLS connection: out of memory");
        socket.non_blocking(true);
        SSL_set_fd(ssl, static_cast<int>(socket.native_handle()));
        // Partial writes let a write return what the socket took; moving buffers let a retried
        // write come from a different (gathered) copy of the same bytes.
        SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
        // One recv() takes whatever has arrived (several records at once) instead of two per
        // record (header, then body): on loopback and in VMs, syscalls are what a request costs.
        SSL_set_read_ahead(ssl, 1);
    }
    ~Impl() { SSL_free(ssl); }
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;

    // The deadline's timer fired: if the deadline really passed, pending waits end (with
    // operation_aborted, reported as timeout); otherwise it moved later and the timer follows.
    void on_timer(const std::shared_ptr<Impl>& self) {
        armed_for = Clock::time_point::max();
        if (deadline == Clock::time_point::max()) return;
        if (Clock::now() < deadline) {
            arm(self);
            return;
        }
        timed_out = true;
        error_code ignored;
        socket.cancel(ignored);
    }

    void arm(const std::shared_ptr<Impl>& self) {
        armed_for = deadline;
        timer.expires_at(deadline);
        timer.async_wait([weak = std::weak_ptr<Impl>(self)](const error_code& ec) {
            if (ec) return;
            if (auto impl = weak.lock()) impl->on_timer(impl);
        });
    }

    asio::ip::tcp::socket socket;
    asio::steady_timer timer;
    SSL* ssl;
    Clock::time_point deadline = Clock::time_point::max();
    Clock::time_point armed_for = Clock::time_point::max();  // when the timer fires, or max
    bool timed_out = false;
    bool handshake_started = false;
    bool close_notify_sent = false;
};

Stream::Stream(asio::ip::tcp::socket socket, asio::ssl::context& context)
    : impl_(std::make_shared<Impl>(std::move(socket), context)) {}

Stream::~Stream() = default;

asio::ip::tcp::socket& Stream::socket() {
    return impl_->socket;
}

SSL* Stream::native_handle() {
    return impl_->ssl;
}

void Stream::expires_after(std::chrono::steady_clock::duration timeout) {
    impl_->deadline = Clock::now() + timeout;
    impl_->timed_out = false;
}

void Stream::expires_never() {
    impl_->deadline = Clock::time_point::max();
    impl_->timed_out = false;
}

void Stream::cancel() {
    error_code ignored;
    impl_->socket.cancel(ignored);
}

void Stream::close() {
    error_code ignored;
    impl_->socket.close(ignored);
    impl_->timer.cancel();
}

void Stream::keep_buffers() {
    SSL_clear_mode(impl_->ssl, SSL_MODE_RELEASE_BUFFERS);
}

bool Stream::arm_deadline(error_code& ec) {
    Impl& impl = *impl_;
    if (impl.deadline == Clock::time_point::max()) return true;
    if (impl.timed_out || Clock::now() >= impl.deadline) {
        ec = boost::beast::error::timeout;
        close();
        return false;
    }
    // A timer already due no later than the deadline re-arms itself when it fires; moving it
    // on every operation would cost a timer-queue update per read and write.
    if (impl.armed_for > impl.deadline) impl.arm(impl_);
    return true;
}

Stream::error_code Stream::wait_error(const error_code& ec) {
    if (ec == asio::error::operation_aborted && impl_->timed_out) {
        close();
        return boost::beast::error::timeout;
    }
    return ec;
}

namespace {

// OpenSSL's verdict on a failed call, as the error codes asio::ssl::stream gives (so callers
// and tls::describe() treat both alike).
error_code openssl_error(SSL* ssl, int ret, int saved_errno) {
    const int error = SSL_get_error(ssl, ret);
    if (error == SSL_ERROR_ZERO_RETURN) return asio::error::eof;
    if (error == SSL_ERROR_SYSCALL) {
        const unsigned long e = ERR_get_error();
        if (e != 0) return error_code(static_cast<int>(e), asio::error::get_ssl_category());
        if (saved_errno == 0) return asio::ssl::error::stream_truncated;
        return error_code(saved_errno, asio::error::get_system_category());
    }
    const unsigned long e = ERR_get_error();
    if (ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
        return asio::ssl::error::stream_truncated;
    if (e == 0) return asio::ssl::error::unspecified_system_error;
    return error_code(static_cast<int>(e), asio::error::get_ssl_category());
}

}  // namespace

// What OpenSSL asks for after a call that did not complete (ret is its return value).
Stream::Step Stream::step_after(int ret, int saved_errno, error_code& ec) {
    SSL* ssl = impl_->ssl;
    switch (SSL_get_error(ssl, ret)) {
        case SSL_ERROR_WANT_READ:
            return Step::want_read;
        case SSL_ERROR_WANT_WRITE:
            return Step::want_write;
        default:
            ec = openssl_error(ssl, ret, saved_errno);
            return Step::done;
    }
}

Stream::Step Stream::try_handshake(handshake_type type, error_code& ec) {
    SSL* ssl = impl_->ssl;
    if (!impl_->handshake_started) {
        impl_->handshake_started = true;
        if (type == asio::ssl::stream_base::client)
            SSL_set_connect_state(ssl);
        else
            SSL_set_accept_state(ssl);
    }
    ERR_clear_error();
    errno = 0;
    const int ret = SSL_do_handshake(ssl);
    const int saved_errno = errno;
    if (ret == 1) return Step::done;
    return step_after(ret, saved_errno, ec);
}

Stream::Step Stream::try_shutdown(error_code& ec) {
    SSL* ssl = impl_->ssl;
    if (!impl_->close_notify_sent) {
        ERR_clear_error();
        errno = 0;
        const int ret = SSL_shutdown(ssl);
        const int saved_errno = errno;
        if (ret < 0) {
            if (SSL_get_error(ssl, ret) == SSL_ERROR_WANT_WRITE) return Step::want_write;
            ec = openssl_error(ssl, ret, saved_errno);
            return Step::done;
        }
        impl_->close_notify_sent = true;
        if (ret == 1) return Step::done;  // the peer's close_notify came first
    }
    // Then wait (within the deadline) for the peer's close_notify or its end of the connection,
    // discarding what comes before: closing a socket with unread bytes in it would answer the
    // peer with a reset instead of a clean close (nginx's lingering close, in short).
    std::array<char, 4096> discard;
    for (;;) {
        ERR_clear_error();
        std::size_t got = 0;
        const int ret = SSL_read_ex(ssl, discard.data(), discard.size(), &got);
        if (ret == 1) continue;
        const int error = SSL_get_error(ssl, ret);
        if (error == SSL_ERROR_WANT_READ) return Step::want_read;
        if (error == SSL_ERROR_WANT_WRITE) return Step::want_write;
        ERR_clear_error();
        return Step::done;
    }
}

Stream::Step Stream::try_read(asio::mutable_buffer buffer, std::size_t& n, error_code& ec) {
    SSL* ssl = impl_->ssl;
    auto* data = static_cast<char*>(buffer.data());
    // OpenSSL hands out one record per call; taking every record already here in one operation
    // gives the caller large reads when data streams in.
    while (n < buffer.size()) {
        ERR_clear_error();
        errno = 0;
        std::size_t got = 0;
        const int ret = SSL_read_ex(ssl, data + n, buffer.size() - n, &got);
        const int saved_errno = errno;
        if (ret == 1) {
            n += got;
            // Another attempt would cost a recv() that finds nothing, unless OpenSSL holds
            // more bytes already.
            if (SSL_has_pending(ssl) != 1) return Step::done;
            continue;
        }
        const int error = SSL_get_error(ssl, ret);
        if (n > 0) {
            // Report the bytes now; an end or error shows again on the next read.
            if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) ERR_clear_error();
            return Step::done;
        }
        if (error == SSL_ERROR_WANT_READ) return Step::want_read;
        if (error == SSL_ERROR_WANT_WRITE) return Step::want_write;
        ec = openssl_error(ssl, ret, saved_errno);
        return Step::done;
    }
    return Step::done;
}

Stream::Step Stream::try_write(asio::const_buffer buffer, std::size_t& n, error_code& ec) {
    SSL* ssl = impl_->ssl;
    ERR_clear_error();
    errno = 0;
    std::size_t written = 0;
    const int ret = SSL_write_ex(ssl, buffer.data(), buffer.size(), &written);
    const int saved_errno = errno;
    if (ret == 1) {
        n = written;
        return Step::done;
    }
    return step_after(ret, saved_errno, ec);
}

bool Stream::has_buffered_input() const {
    return SSL_has_pending(impl_->ssl) == 1;
}

}  // namespace edgeway::tls
