#include "turn/tcp_listener.hpp"

#include "turn/turn.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <stdexcept>

namespace edgeway::turn {
namespace {
namespace asio = boost::asio;
using asio::ip::tcp;
// The largest frame (a 20-byte header and 65532 bytes of attributes) fits with room to spare.
constexpr std::size_t kReadChunk = 72 * 1024;
constexpr std::size_t kMaxConnections = 4096;

stun::Endpoint as_udp(const tcp::endpoint& e) {
    return stun::Endpoint(e.address(), e.port());
}
}  // namespace

TcpConnection::TcpConnection(tcp::socket socket, RequestHandler& handler,
                             const AllocationTable& table, const Config& config, Logger& log)
    : socket_(std::move(socket)),
      handler_(handler),
      table_(table),
      config_(config),
      log_(log),
      idle_timer_(socket_.get_executor()) {
    boost::system::error_code ec;
    tuple_ = FiveTuple{Transport::tcp, as_udp(socket_.remote_endpoint(ec)),
                       as_udp(socket_.local_endpoint(ec))};
    socket_.set_option(tcp::no_delay(true), ec);
}

void TcpConnection::start() {
    asio::co_spawn(socket_.get_executor(), read_loop(), asio::detached);
    asio::co_spawn(socket_.get_executor(), idle_watch(), asio::detached);
}

void TcpConnection::close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
    idle_timer_.cancel();
}

asio::awaitable<void> TcpConnection::read_loop() {
    auto self = shared_from_this();
    std::vector<std::uint8_t> buffer(kReadChunk);
    std::size_t filled = 0;
    for (;;) {
        if (filled == buffer.size()) break;  // cannot happen: frames are smaller
        auto [ec, n] = co_await socket_.async_read_some(
            asio::buffer(buffer.data() + filled, buffer.size() - filled),
            asio::as_tuple(asio::use_awaitable));
        if (ec) break;
        last_read_ = std::chrono::steady_clock::now();
        filled += n;
        std::size_t used = 0;
        bool bad = false;
        while (filled - used >= 4) {
            const auto size =
                stun::stream_frame_size(stun::ByteView(buffer.data() + used, filled - used));
            if (!size) break;
            // Neither STUN (with its magic cookie) nor ChannelData: TLS, HTTP or noise. The
            // stream cannot be re-synchronised, so it is closed.
            const bool stun_start = (buffer[used] & 0xC0) == 0;
            if (*size == 0 || (stun_start && filled - used >= 8 &&
                               !(buffer[used + 4] == 0x21 && buffer[used + 5] == 0x12 &&
                                 buffer[used + 6] == 0xA4 && buffer[used + 7] == 0x42))) {
                bad = true;
                break;
            }
            if (filled - used < *size) break;
            try {
                handler_.on_client(stun::ByteView(buffer.data() + used, *size), tuple_, *this);
            } catch (const std::exception& e) {
                log_.error("turn: message from {} failed: {}", tuple_.describe(), e.what());
            }
            used += *size;
        }
        if (bad) {
            log_.info("turn: closed {}: bytes that are neither STUN nor ChannelData",
                      tuple_.describe());
            break;
        }
        std::copy(buffer.begin() + static_cast<std::ptrdiff_t>(used),
                  buffer.begin() + static_cast<std::ptrdiff_t>(filled), buffer.begin());
        filled -= used;
    }
    handler_.on_client_closed(tuple_);
    close();
}

asio::awaitable<void> TcpConnection::idle_watch() {
    auto self = shared_from_this();
    for (;;) {
        idle_timer_.expires_after(config_.tcp_idle_timeout);
        auto [ec] = co_await idle_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
        if (ec || !socket_.is_open()) co_return;
        // A connection carrying an allocation lives as long as the allocation does.
        if (std::chrono::steady_clock::now() - last_read_ >= config_.tcp_idle_timeout &&
            !table_.find(tuple_)) {
            log_.debug("turn: closed idle {}", tuple_.describe());
            close();
            co_return;
        }
    }
}

void TcpConnection::send(stun::ByteView bytes) {
    if (!socket_.is_open() || queued_bytes_ + bytes.size() > config_.tcp_max_queued_bytes) return;
    queue_.emplace_back(bytes.begin(), bytes.end());
    queued_bytes_ += bytes.size();
    if (!writing_) {
        writing_ = true;
        asio::co_spawn(socket_.get_executor(), write_loop(), asio::detached);
    }
}

asio::awaitable<void> TcpConnection::write_loop() {
    auto self = shared_from_this();
    while (!queue_.empty()) {
        // Everything queued so far goes in one write.
        std::vector<asio::const_buffer> buffers;
        const std::size_t count = queue_.size();
        for (std::size_t i = 0; i < count; ++i) buffers.emplace_back(asio::buffer(queue_[i]));
        auto [ec, n] =
            co_await asio::async_write(socket_, buffers, asio::as_tuple(asio::use_awaitable));
        if (ec) {
            queue_.clear();
            queued_bytes_ = 0;
            break;
        }
        for (std::size_t i = 0; i < count; ++i) {
            queued_bytes_ -= queue_.front().size();
            queue_.pop_front();
        }
    }
    writing_ = false;
}

TcpListener::TcpListener(asio::io_context& io, const tcp::endpoint& address,
                         RequestHandler& handler, const AllocationTable& table,
                         const Config& config, Logger& log)
    : acceptor_(io), handler_(handler), table_(table), config_(config), log_(log) {
    boost::system::error_code ec;
    acceptor_.open(address.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(address, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
        throw std::runtime_error("turn: cannot listen on tcp " + address.address().to_string() +
                                 ":" + std::to_string(address.port()) + ": " + ec.message());
    local_ = acceptor_.local_endpoint();
}

void TcpListener::start() {
    asio::co_spawn(acceptor_.get_executor(), accept_loop(), asio::detached);
}

void TcpListener::close() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    for (auto& weak : connections_)
        if (auto connection = weak.lock()) connection->close();
    connections_.clear();
}

asio::awaitable<void> TcpListener::accept_loop() {
    for (;;) {
        auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
        if (ec) continue;  // e.g. out of file descriptors for a moment
        std::erase_if(connections_, [](const auto& weak) { return weak.expired(); });
        if (connections_.size() >= kMaxConnections) {
            log_.warn("turn: refused a TCP connection: {} connections open", connections_.size());
            continue;
        }
        auto connection =
            std::make_shared<TcpConnection>(std::move(socket), handler_, table_, config_, log_);
        connections_.push_back(connection);
        connection->start();
    }
}

}  // namespace edgeway::turn
