// A TLS connection over a TCP socket in which OpenSSL reads and writes the socket itself
// (SSL_set_fd on a non-blocking socket), as nginx and HAProxy do. It is an Asio/Beast
// AsyncReadStream and AsyncWriteStream, with beast::tcp_stream's deadlines.
//
// Why not asio::ssl::stream: that one keeps two 17 KiB buffers per connection plus a 2 x 17 KiB
// BIO pair, and copies every byte through them. Here an idle connection holds only OpenSSL's
// own state (its record buffers are released while idle, SSL_MODE_RELEASE_BUFFERS), and bytes
// go straight between the socket and the caller's buffer.
#pragma once

#include <openssl/ssl.h>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/system/error_code.hpp>

#include <array>
#include <chrono>
#include <cstring>
#include <memory>

namespace edgeway::tls {

class Stream {
  public:
    using executor_type = boost::asio::any_io_executor;
    using error_code = boost::system::error_code;
    using handshake_type = boost::asio::ssl::stream_base::handshake_type;

    // Takes over a connected socket. Throws std::runtime_error when OpenSSL cannot make a
    // connection object (out of memory).
    Stream(boost::asio::ip::tcp::socket socket, boost::asio::ssl::context& context);
    Stream(Stream&&) noexcept = default;
    Stream& operator=(Stream&&) noexcept = default;
    ~Stream();

    executor_type get_executor() { return socket().get_executor(); }
    boost::asio::ip::tcp::socket& socket();
    SSL* native_handle();

    // Like beast::tcp_stream: when the deadline passes, the operations pending then (and any
    // started later) end with beast::error::timeout and the socket is closed.
    void expires_after(std::chrono::steady_clock::duration timeout);
    void expires_never();
    // Ends pending operations with operation_aborted; the connection stays usable.
    void cancel();
    void close();

    // Keeps OpenSSL's record buffers allocated between reads: for a busy long-lived connection
    // (the traversal link) that saves an allocation per record; idle browser connections do
    // better without.
    void keep_buffers();

    template <class Token>
    auto async_handshake(handshake_type type, Token&& token) {
        return compose<false>(
            [type](Stream& s, std::size_t&, error_code& ec) { return s.try_handshake(type, ec); },
            std::forward<Token>(token));
    }

    // Sends close_notify and waits, within the deadline, for the peer's (or its end of the
    // connection). Set a short deadline first: a peer may never answer.
    template <class Token>
    auto async_shutdown(Token&& token) {
        return compose<false>(
            [](Stream& s, std::size_t&, error_code& ec) { return s.try_shutdown(ec); },
            std::forward<Token>(token));
    }

    // Completes when a read would find data, without holding a buffer meanwhile: what an idle
    // WebSocket waits on.
    template <class Token>
    auto async_wait_readable(Token&& token) {
        return compose<false>(
            [](Stream& s, std::size_t&, error_code&) {
                return s.has_buffered_input() ? Step::done : Step::want_read_once;
            },
            std::forward<Token>(token));
    }

    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token) {
        return compose<true>(
            [buffers](Stream& s, std::size_t& n, error_code& ec) {
                for (auto it = boost::asio::buffer_sequence_begin(buffers);
                     it != boost::asio::buffer_sequence_end(buffers); ++it)
                    if (boost::asio::mutable_buffer b(*it); b.size() > 0)
                        return s.try_read(b, n, ec);
                return Step::done;
            },
            std::forward<Token>(token));
    }

    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token) {
        return compose<true>(
            [buffers](Stream& s, std::size_t& n, error_code& ec) {
                // Small pieces in front (a chunk-size line, a header) go out in one record with
                // what follows them rather than in records of their own.
                std::array<char, kGatherLimit> gathered;
                const std::size_t total =
                    boost::asio::buffer_copy(boost::asio::buffer(gathered), buffers, kGatherLimit);
                auto first = boost::asio::buffer_sequence_begin(buffers);
                while (first != boost::asio::buffer_sequence_end(buffers) &&
                       boost::asio::const_buffer(*first).size() == 0)
                    ++first;
                if (first == boost::asio::buffer_sequence_end(buffers)) return Step::done;
                const boost::asio::const_buffer head(*first);
                if (head.size() >= total) return s.try_write(head, n, ec);
                return s.try_write(boost::asio::buffer(gathered.data(), total), n, ec);
            },
            std::forward<Token>(token));
    }

  private:
    // What one attempt at an operation came to. want_read_once waits for readability and then
    // completes instead of trying again.
    enum class Step { done, want_read, want_write, want_read_once };
    static constexpr std::size_t kGatherLimit = 16 * 1024;
    struct Impl;

    Step step_after(int ret, int saved_errno, error_code& ec);
    Step try_handshake(handshake_type type, error_code& ec);
    Step try_shutdown(error_code& ec);
    Step try_read(boost::asio::mutable_buffer buffer, std::size_t& n, error_code& ec);
    Step try_write(boost::asio::const_buffer buffer, std::size_t& n, error_code& ec);
    bool has_buffered_input() const;
    // Starts the deadline's timer if needed; false (with ec set) when it has already passed.
    bool arm_deadline(error_code& ec);
    // The error to report for a wait that ended with ec (a timeout shows as operation_aborted).
    error_code wait_error(const error_code& ec);

    // One asynchronous operation: attempt, wait for the socket when OpenSSL asks, attempt again.
    // Completion never happens inside the initiating call (Asio's rule): a result ready at once
    // is posted.
    template <bool WithSize, class Attempt>
    struct Op {
        Stream* stream;
        Attempt attempt;
        std::size_t bytes = 0;
        error_code result{};
        enum class State { starting, waiting, finishing } state = State::starting;
        bool once = false;  // the wait itself is the operation (async_wait_readable)

        template <class Self>
        void operator()(Self& self, error_code ec = {}) {
            if (state == State::finishing) return finish(self);
            const bool waited = state == State::waiting;
            if (waited && ec) {
                result = stream->wait_error(ec);
                return finish(self);
            }
            const Step step = waited && once ? Step::done : attempt(*stream, bytes, result);
            if (step == Step::done || !stream->arm_deadline(result)) {
                if (waited) return finish(self);
                state = State::finishing;
                return boost::asio::post(stream->get_executor(), std::move(self));
            }
            once = step == Step::want_read_once;
            state = State::waiting;
            stream->socket().async_wait(step == Step::want_write
                                            ? boost::asio::socket_base::wait_write
                                            : boost::asio::socket_base::wait_read,
                                        std::move(self));
        }

        template <class Self>
        void finish(Self& self) {
            if constexpr (WithSize)
                self.complete(result, bytes);
            else
                self.complete(result);
        }
    };

    template <bool WithSize, class Attempt, class Token>
    auto compose(Attempt attempt, Token&& token) {
        using Signature =
            std::conditional_t<WithSize, void(error_code, std::size_t), void(error_code)>;
        return boost::asio::async_compose<Token, Signature>(
            Op<WithSize, Attempt>{this, std::move(attempt)}, token, socket());
    }

    std::shared_ptr<Impl> impl_;
};

}  // namespace edgeway::tls
