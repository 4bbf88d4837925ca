// A one-shot wake-up for coroutines on one executor: wait() returns once notify() has been called
// since the last wait. A notify() that comes while nobody waits is remembered.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace edgeway::proxy {

class Signal {
  public:
    explicit Signal(const boost::asio::any_io_executor& executor)
        : timer_(executor, boost::asio::steady_timer::time_point::max()) {}

    void notify() {
        pending_ = true;
        timer_.cancel();
    }

    boost::asio::awaitable<void> wait() {
        if (!pending_)
            co_await timer_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
        pending_ = false;
    }

  private:
    boost::asio::steady_timer timer_;
    bool pending_ = false;
};

}  // namespace edgeway::proxy
