// A UDP listening socket (3478): each datagram goes to the request handler with the client's
// 5-tuple; replies and relayed data leave from the same socket.
#pragma once

#include "common/log.hpp"
#include "turn/request_handler.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/udp.hpp>

namespace edgeway::turn {

class UdpListener {
  public:
    // Binds; throws std::runtime_error naming the address.
    UdpListener(boost::asio::io_context& io, const stun::Endpoint& address, RequestHandler& handler,
                Logger& log);
    void start();
    void close();
    stun::Endpoint local_endpoint() const { return local_; }

  private:
    boost::asio::awaitable<void> run();

    boost::asio::ip::udp::socket socket_;
    stun::Endpoint local_;
    RequestHandler& handler_;
    Logger& log_;
};

}  // namespace edgeway::turn
