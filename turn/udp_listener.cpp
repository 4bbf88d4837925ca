#include "turn/udp_listener.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <stdexcept>

namespace edgeway::turn {
namespace {
namespace asio = boost::asio;
constexpr std::size_t kMaxDatagram = 65535;
constexpr int kBurst = 64;              // datagrams taken per wake-up before yielding
constexpr int kSocketBuffer = 4 << 20;  // room for bursts of media while the thread is busy
}  // namespace

UdpListener::UdpListener(asio::io_context& io, const stun::Endpoint& address,
                         RequestHandler& handler, Logger& log)
    : socket_(io), handler_(handler), log_(log) {
    boost::system::error_code ec;
    socket_.open(address.protocol(), ec);
    if (!ec) socket_.bind(address, ec);
    if (ec)
        throw std::runtime_error("turn: cannot listen on udp " + address.address().to_string() +
                                 ":" + std::to_string(address.port()) + ": " + ec.message());
    socket_.set_option(asio::socket_base::receive_buffer_size(kSocketBuffer), ec);
    socket_.set_option(asio::socket_base::send_buffer_size(kSocketBuffer), ec);
    socket_.non_blocking(true);
    local_ = socket_.local_endpoint();
}

void UdpListener::start() {
    asio::co_spawn(socket_.get_executor(), run(), asio::detached);
}

void UdpListener::close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
}

asio::awaitable<void> UdpListener::run() {
    std::vector<std::uint8_t> buffer(kMaxDatagram);
    FiveTuple tuple{Transport::udp, {}, local_};
    for (;;) {
        auto [ec, size] = co_await socket_.async_receive_from(asio::buffer(buffer), tuple.client,
                                                              asio::as_tuple(asio::use_awaitable));
        if (ec == asio::error::operation_aborted || !socket_.is_open()) co_return;
        if (ec) continue;  // ICMP errors surface here; the socket is still good
        // Take what is already queued (up to 64) before waiting again.
        for (int burst = 1;; ++burst) {
            UdpClientLink link(socket_, tuple.client);
            try {
                handler_.on_client(stun::ByteView(buffer.data(), size), tuple, link);
            } catch (const std::exception& e) {
                // A database error, say: this message fails, the listener goes on.
                log_.error("turn: message from {} failed: {}", tuple.describe(), e.what());
            }
            if (burst == kBurst) break;  // the next one waits for the next wake-up
            boost::system::error_code again;
            size = socket_.receive_from(asio::buffer(buffer), tuple.client, 0, again);
            if (again) break;
        }
    }
}

}  // namespace edgeway::turn
