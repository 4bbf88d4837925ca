// TURN over TCP (3478): the listener accepts, and each connection reads STUN messages and
// ChannelData (padded to 4 bytes) framed by their own lengths. Writes go through a bounded
// queue so relayed media never blocks the thread; what does not fit is dropped, as UDP would.
#pragma once

#include "common/log.hpp"
#include "turn/request_handler.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <deque>
#include <memory>
#include <set>

namespace edgeway::turn {

class TcpConnection final : public ClientLink, public std::enable_shared_from_this<TcpConnection> {
  public:
    TcpConnection(boost::asio::ip::tcp::socket socket, RequestHandler& handler,
                  const AllocationTable& table, const Config& config, Logger& log);
    void start();
    void close();

    void send(stun::ByteView bytes) override;
    bool stream() const override { return true; }
    std::shared_ptr<ClientLink> keep() override { return shared_from_this(); }

  private:
    boost::asio::awaitable<void> read_loop();
    boost::asio::awaitable<void> write_loop();
    boost::asio::awaitable<void> idle_watch();

    boost::asio::ip::tcp::socket socket_;
    RequestHandler& handler_;
    const AllocationTable& table_;
    const Config& config_;
    Logger& log_;
    FiveTuple tuple_;
    std::deque<stun::Bytes> queue_;
    std::size_t queued_bytes_ = 0;
    bool writing_ = false;
    std::chrono::steady_clock::time_point last_read_ = std::chrono::steady_clock::now();
    boost::asio::steady_timer idle_timer_;
};

class TcpListener {
  public:
    // Binds and listens; throws std::runtime_error naming the address.
    TcpListener(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& address,
                RequestHandler& handler, const AllocationTable& table, const Config& config,
                Logger& log);
    void start();
    // Stops accepting and closes every connection.
    void close();
    boost::asio::ip::tcp::endpoint local_endpoint() const { return local_; }

  private:
    boost::asio::awaitable<void> accept_loop();

    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::ip::tcp::endpoint local_;
    RequestHandler& handler_;
    const AllocationTable& table_;
    const Config& config_;
    Logger& log_;
    std::vector<std::weak_ptr<TcpConnection>> connections_;
};

}  // namespace edgeway::turn
