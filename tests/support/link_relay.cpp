#include "tests/support/link_relay.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <atomic>
#include <future>
#include <list>
#include <thread>

namespace edgeway::test {

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {
constexpr auto tuple_awaitable = net::as_tuple(net::use_awaitable);
}

struct LinkRelay::Impl {
    struct Pair {
        explicit Pair(net::io_context& io, tcp::socket downstream)
            : down(std::move(downstream)), up(io) {}
        tcp::socket down;  // the core's side
        tcp::socket up;    // the edge's side
        void close() {
            boost::system::error_code ignored;
            // shutdown first: it ends the TCP connection even if a copy of the descriptor exists.
            down.shutdown(tcp::socket::shutdown_both, ignored);
            up.shutdown(tcp::socket::shutdown_both, ignored);
            down.close(ignored);
            up.close(ignored);
        }
    };

    explicit Impl(std::uint16_t target)
        : target_port(target),
          acceptor(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)),
          unfrozen(io) {
        unfrozen.expires_at(net::steady_timer::time_point::max());
        port = acceptor.local_endpoint().port();
    }

    net::awaitable<void> wait_unfrozen(const bool& frozen) {
        while (frozen) co_await unfrozen.async_wait(tuple_awaitable);
    }

    net::awaitable<void> accept_loop() {
        for (;;) {
            auto [error, socket] = co_await acceptor.async_accept(tuple_awaitable);
            if (error == net::error::operation_aborted || !acceptor.is_open()) co_return;
            if (error) continue;
            ++accepted;
            auto pair = std::make_shared<Pair>(io, std::move(socket));
            pairs.push_back(pair);
            ++open;
            net::co_spawn(io, serve(pair), net::detached);
        }
    }

    net::awaitable<void> serve(std::shared_ptr<Pair> pair) {
        auto [error] = co_await pair->up.async_connect(
            tcp::endpoint(net::ip::make_address("127.0.0.1"), target_port), tuple_awaitable);
        if (!error) {
            // Two pumps; when either ends, the whole pair is closed, which ends the other.
            net::co_spawn(io, pump(pair, pair->up, pair->down, frozen_to_core), net::detached);
            co_await pump(pair, pair->down, pair->up, frozen_to_edge);
        }
        pair->close();
        pairs.remove_if([&](const auto& weak) { return weak.lock() == pair || weak.expired(); });
        --open;
    }

    // frozen: the flag of this direction.
    net::awaitable<void> pump(std::shared_ptr<Pair> pair, tcp::socket& from, tcp::socket& to,
                              const bool& frozen) {
        std::array<char, 64 * 1024> buffer;
        for (;;) {
            co_await wait_unfrozen(frozen);
            auto [read_error, n] =
                co_await from.async_read_some(net::buffer(buffer), tuple_awaitable);
            if (read_error) break;
            co_await wait_unfrozen(frozen);
            auto [write_error, written] =
                co_await net::async_write(to, net::buffer(buffer.data(), n), tuple_awaitable);
            if (write_error) break;
        }
        pair->close();
    }

    // Runs f on the relay thread and waits for it.
    template <typename F>
    void run(F f) {
        std::promise<void> done;
        net::post(io, [&] {
            f();
            done.set_value();
        });
        done.get_future().wait();
    }

    std::uint16_t target_port;
    net::io_context io;
    tcp::acceptor acceptor;
    net::steady_timer unfrozen;
    bool frozen_to_edge = false, frozen_to_core = false;
    std::list<std::weak_ptr<Pair>> pairs;
    std::atomic<std::size_t> accepted{0};
    std::atomic<std::size_t> open{0};
    std::uint16_t port = 0;
    std::thread thread;
};

LinkRelay::LinkRelay(std::uint16_t target_port) : impl_(std::make_shared<Impl>(target_port)) {
    net::co_spawn(impl_->io, impl_->accept_loop(), net::detached);
    impl_->thread = std::thread([impl = impl_] { impl->io.run(); });
}

LinkRelay::~LinkRelay() {
    impl_->run([impl = impl_.get()] {
        boost::system::error_code ignored;
        impl->acceptor.close(ignored);
        impl->frozen_to_edge = impl->frozen_to_core = false;
        impl->unfrozen.cancel();
        for (auto& weak : impl->pairs) {
            if (auto pair = weak.lock()) pair->close();
        }
    });
    impl_->io.stop();
    impl_->thread.join();
}

std::uint16_t LinkRelay::port() const {
    return impl_->port;
}

void LinkRelay::sever() {
    impl_->run([impl = impl_.get()] {
        for (auto& weak : impl->pairs) {
            if (auto pair = weak.lock()) pair->close();
        }
    });
}

void LinkRelay::freeze(Direction direction) {
    impl_->run([impl = impl_.get(), direction] {
        if (direction != Direction::to_core) impl->frozen_to_edge = true;
        if (direction != Direction::to_edge) impl->frozen_to_core = true;
    });
}

void LinkRelay::unfreeze() {
    impl_->run([impl = impl_.get()] {
        impl->frozen_to_edge = impl->frozen_to_core = false;
        impl->unfrozen.cancel();
    });
}

std::size_t LinkRelay::connections_accepted() const {
    return impl_->accepted;
}
std::size_t LinkRelay::connections_open() const {
    return impl_->open;
}

}  // namespace edgeway::test
