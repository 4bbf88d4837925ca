// bench_ws: WebSocket-over-TLS load client for the performance harness (bench/run).
//   echo  C connections, each a closed loop: send one text message, wait for its echo, repeat
//         until --duration passes; prints throughput and round-trip latency as one JSON line.
//   idle  opens --count connections, prints one JSON line and READY, holds them until stdin
//         reaches EOF or SIGINT/SIGTERM, then closes them all.
// Each --threads worker owns an io_context, its connections and its counters: nothing is shared
// between threads while they run, and the counters are merged once the workers are done.
#include <openssl/ssl.h>
#include <sys/resource.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <list>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using Clock = std::chrono::steady_clock;
using Ws = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;
using namespace std::chrono_literals;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr int kExitRun = 1, kExitUsage = 2;
constexpr auto kConnectTimeout = 10s;       // TCP connect plus TLS handshake
constexpr auto kHandshakeTimeout = 10s;     // the WebSocket upgrade, and idle's close handshake
constexpr auto kEchoTimeout = 5s;           // an echo that takes longer is a failure, not a sample
constexpr auto kCloseTimeout = 2s;          // echo: closing once the measurement is over
constexpr auto kOverrun = 10s;              // echo: the whole run must end by duration + this
constexpr std::size_t kMaxSize = 16 << 20;  // the demo web bridge's message limit
constexpr int kMaxErrorLines = 5;           // per run; the JSON carries the total

constexpr const char* kUsage =
    "usage: bench_ws echo|idle --host IP --port P [--server-name localhost]\n"
    "         [--host-header SERVER-NAME:P] [--path /ws/echo] [--threads 1]\n"
    "  echo: [--connections 10] [--size 64] [--duration 5]\n"
    "  idle: --count N [--rate 200]\n";

struct Options {
    bool echo = true;
    asio::ip::tcp::endpoint endpoint;
    std::string server_name, host_header, path;
    unsigned threads = 1, connections = 0, count = 0, rate = 0;
    std::size_t size = 0;
    double duration = 0;
};

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

Options parse_options(int argc, char** argv) {
    const std::string_view mode = argc > 1 ? argv[1] : "";
    if (mode != "echo" && mode != "idle")
        throw UsageError("the first argument must be echo or idle");
    std::map<std::string_view, std::string_view> args;
    for (int i = 2; i < argc; i += 2) {
        if (i + 1 >= argc) throw UsageError(std::string(argv[i]) + ": missing value");
        args[argv[i]] = argv[i + 1];
    }
    // Options are taken out of args one by one; anything left is not an option of this mode.
    auto take = [&](std::string_view name, std::string_view fallback) {
        const auto node = args.extract(name);
        return node ? node.mapped() : fallback;
    };
    auto number = [&]<class T>(std::string_view name, std::string_view fallback, T min, T max) {
        const auto text = take(name, fallback);
        T value{};
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec != std::errc{} || end != text.data() + text.size() || value < min || value > max)
            throw UsageError(std::string(name) + ": invalid value '" + std::string(text) + "'");
        return value;
    };
    if (!args.contains("--host") || !args.contains("--port"))
        throw UsageError("--host and --port are required");
    if (mode == "idle" && !args.contains("--count")) throw UsageError("idle needs --count");
    Options o;
    o.echo = mode == "echo";
    const std::string host(take("--host", ""));
    const auto port = number("--port", "", 1u, 65535u);
    o.server_name = take("--server-name", "localhost");
    const std::string authority = o.server_name + ":" + std::to_string(port);
    o.host_header = take("--host-header", authority);
    o.path = take("--path", "/ws/echo");
    o.threads = number("--threads", "1", 1u, 256u);
    if (o.echo) {
        o.connections = number("--connections", "10", 1u, 100000u);
        o.size = number("--size", "64", std::size_t{0}, kMaxSize);
        o.duration = number("--duration", "5", 1e-3, 3600.0);
    } else {
        o.count = number("--count", "", 1u, 1000000u);
        o.rate = number("--rate", "200", 1u, 100000u);
    }
    if (!args.empty())
        throw UsageError("unknown option " + std::string(args.begin()->first) + " for " + argv[1]);
    boost::system::error_code ec;
    o.endpoint = {asio::ip::make_address(host, ec), static_cast<std::uint16_t>(port)};
    if (ec) throw UsageError("--host must be an IP address, not '" + host + "'");
    return o;
}

// Failures are one line naming the phase (a system_error's what() adds Boost's source location).
[[noreturn]] void fail(std::string_view phase, const boost::system::error_code& ec) {
    throw std::runtime_error(std::string(phase) + ": " + ec.message());
}

// Capped, because a refused upgrade on 1000 connections says the same thing 1000 times.
void report_failure(unsigned id, std::exception_ptr error) {
    static std::atomic<int> lines{0};
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& e) {
        const int n = lines++;
        if (n < kMaxErrorLines) std::fprintf(stderr, "bench_ws: connection %u: %s\n", id, e.what());
        if (n == kMaxErrorLines) std::fprintf(stderr, "bench_ws: (further errors not shown)\n");
    }
}

// One thread's share of the run; only that thread touches it until it has been joined.
struct Worker {
    asio::io_context io{1};  // one thread per context: Asio can skip its locking
    unsigned connections = 0, active = 0, next = 0, openers = 0, open = 0, errors = 0, dropped = 0;
    std::vector<std::int64_t> latencies_ns;
    Clock::time_point last_echo{};
    asio::steady_timer watchdog{io};
    bool stopping = false;
    std::list<std::shared_ptr<Ws>> held;  // idle: connections open or opening, for the stop
};

// TCP, TLS (SNI, ALPN http/1.1, no verification) and the upgrade; throws naming the phase.
asio::awaitable<void> open_websocket(Ws& ws, const Options& o, Clock::duration idle_timeout) {
    auto& socket = beast::get_lowest_layer(ws);
    socket.expires_after(kConnectTimeout);
    if (auto [ec] = co_await socket.async_connect(o.endpoint, use_tuple); ec)
        fail("TCP connect", ec);
    // Without it, a message spanning two TLS records waits for a delayed ACK (40 ms on Linux).
    socket.socket().set_option(asio::ip::tcp::no_delay(true));
    SSL_set_tlsext_host_name(ws.next_layer().native_handle(), o.server_name.c_str());
    if (auto [ec] = co_await ws.next_layer().async_handshake(ssl::stream_base::client, use_tuple);
        ec)
        fail("TLS handshake", ec);
    socket.expires_never();  // from here the WebSocket stream's own timeouts apply

    websocket::stream_base::timeout timeouts;
    timeouts.handshake_timeout = kHandshakeTimeout;
    timeouts.idle_timeout = idle_timeout;
    timeouts.keep_alive_pings = false;  // a load client sends only what it measures
    ws.set_option(timeouts);
    ws.read_message_max(std::max<std::size_t>(o.size, 1024));
    ws.auto_fragment(false);  // one frame per message, as the echo comes back
    ws.set_option(websocket::stream_base::decorator(
        [](websocket::request_type& req) { req.set(beast::http::field::user_agent, "bench_ws"); }));
    websocket::response_type response;
    if (auto [ec] = co_await ws.async_handshake(response, o.host_header, o.path, use_tuple); ec)
        throw std::runtime_error("WebSocket upgrade: " + ec.message() + " (HTTP status " +
                                 std::to_string(response.result_int()) + ")");
}

asio::awaitable<void> echo_connection(Worker& w, const Options& o, ssl::context& tls,
                                      Clock::time_point deadline) {
    Ws ws(co_await asio::this_coro::executor, tls);
    co_await open_websocket(ws, o, kEchoTimeout);
    const std::string message(o.size, 'x');
    beast::flat_buffer buffer;
    ws.text(true);
    while (Clock::now() < deadline) {
        const auto sent = Clock::now();
        if (auto [ec, n] = co_await ws.async_write(asio::buffer(message), use_tuple); ec)
            fail("write", ec);
        if (auto [ec, n] = co_await ws.async_read(buffer, use_tuple); ec) fail("read", ec);
        const auto received = Clock::now();
        if (buffer.size() != message.size())
            throw std::runtime_error("echo of " + std::to_string(buffer.size()) + " bytes, sent " +
                                     std::to_string(message.size()));
        buffer.consume(buffer.size());
        w.latencies_ns.push_back(std::chrono::nanoseconds(received - sent).count());
        w.last_echo = std::max(w.last_echo, received);
    }
    // The measurement is over: a close that fails or stalls says nothing about it.
    websocket::stream_base::timeout timeouts;
    ws.get_option(timeouts);
    timeouts.handshake_timeout = kCloseTimeout;
    ws.set_option(timeouts);
    co_await ws.async_close(websocket::close_code::normal, use_tuple);
}

// Nearest-rank percentile of sorted samples, in microseconds.
double percentile_us(const std::vector<std::int64_t>& sorted, double p) {
    if (sorted.empty()) return 0;
    const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
    return static_cast<double>(sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1]) / 1e3;
}

int run_echo(const Options& o, ssl::context& tls, std::vector<Worker>& workers) {
    const auto start = Clock::now();
    const auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(o.duration));
    std::atomic<bool> overran{false};
    for (unsigned id = 0; id < o.connections; ++id) {
        auto& w = workers[id % workers.size()];
        ++w.active;
        asio::co_spawn(w.io, echo_connection(w, o, tls, deadline),
                       [&w, id](std::exception_ptr error) {
                           if (error) ++w.errors, report_failure(id, error);
                           if (--w.active == 0) w.watchdog.cancel();
                       });
    }
    std::vector<std::thread> threads;
    for (auto& w : workers) {
        if (w.active == 0) continue;
        w.watchdog.expires_at(deadline + kOverrun);
        w.watchdog.async_wait([&w, &overran](boost::system::error_code ec) {
            if (ec) return;  // cancelled: every connection finished in time
            overran = true;
            w.io.stop();
        });
        threads.emplace_back([&w] { w.io.run(); });
    }
    for (auto& t : threads) t.join();
    if (overran) {
        std::fprintf(stderr, "bench_ws: the run did not end within duration + %lld s\n",
                     static_cast<long long>(kOverrun.count()));
        return kExitRun;
    }

    std::vector<std::int64_t> latencies;
    unsigned errors = 0;
    auto end = start;
    for (auto& w : workers) {
        latencies.insert(latencies.end(), w.latencies_ns.begin(), w.latencies_ns.end());
        errors += w.errors, end = std::max(end, w.last_echo);
    }
    std::sort(latencies.begin(), latencies.end());
    // From the start, connecting included, to the last echo: what the closed loops achieved.
    const double seconds = std::chrono::duration<double>(end - start).count();
    std::printf(
        "{\"mode\":\"echo\",\"connections\":%u,\"size\":%zu,\"seconds\":%.3f,\"messages\":%zu,"
        "\"messages_per_s\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"errors\":%u}\n",
        o.connections, o.size, seconds, latencies.size(),
        seconds > 0 ? static_cast<double>(latencies.size()) / seconds : 0.0,
        percentile_us(latencies, 0.5), percentile_us(latencies, 0.99), errors);
    std::fflush(stdout);
    if (latencies.empty() || errors * 100 > o.connections) {
        std::fprintf(stderr, "bench_ws: %u of %u connections failed\n", errors, o.connections);
        return kExitRun;
    }
    return 0;
}

// Idle: keeps reading so Beast answers pings and the peer's close; any payload is dropped.
asio::awaitable<void> hold(Worker& w, std::shared_ptr<Ws> ws) {
    beast::flat_buffer buffer;
    for (;;) {
        auto [ec, n] = co_await ws->async_read(buffer, use_tuple);
        if (!ec) {
            buffer.consume(n);
        } else {
            if (!w.stopping && w.dropped++ == 0)  // the first of each worker says why
                std::fprintf(stderr, "bench_ws: an idle connection ended: %s\n",
                             ec.message().c_str());
            co_return;
        }
    }
}

asio::awaitable<void> close_held(std::shared_ptr<Ws> ws) {
    co_await ws->async_close(websocket::close_code::going_away, use_tuple);
}

// One of a worker's `openers` coroutines: at most that many upgrades are in flight at once.
asio::awaitable<void> opener(Worker& w, const Options& o, ssl::context& tls, unsigned first_id) {
    while (!w.stopping && w.next < w.connections) {
        const unsigned id = first_id + w.next++;
        // Listed before it is open, so that a stop can cut the upgrade short.
        const auto it = w.held.insert(w.held.end(), std::make_shared<Ws>(w.io, tls));
        try {
            co_await open_websocket(**it, o, websocket::stream_base::none());
            ++w.open;
            asio::co_spawn(w.io, hold(w, *it), asio::detached);
            // The upgrade's last step had completed when the stop came.
            if (w.stopping) asio::co_spawn(w.io, close_held(*it), asio::detached);
        } catch (const std::exception&) {
            w.held.erase(it);
            if (!w.stopping) ++w.errors, report_failure(id, std::current_exception());
        }
    }
}

// True at EOF or a read error; false when cancelled (the run stopped for another reason).
asio::awaitable<bool> wait_for_eof(asio::posix::stream_descriptor& input) {
    std::array<char, 256> scratch;
    for (;;) {
        auto [ec, n] = co_await input.async_read_some(asio::buffer(scratch), use_tuple);
        if (ec) co_return ec != asio::error::operation_aborted;
    }
}

int run_idle(const Options& o, ssl::context& tls, std::vector<Worker>& workers) {
    const auto start = Clock::now();
    asio::io_context control;  // main thread: signals, stdin, the report once all are open
    auto opening = asio::make_work_guard(control);
    asio::signal_set signals(control, SIGINT, SIGTERM);
    asio::posix::stream_descriptor input(control);
    const int stdin_flags = ::fcntl(STDIN_FILENO, F_GETFL);  // Asio sets O_NONBLOCK; restored
    bool stop_requested = false, ready = false, stdin_eof = false;
    unsigned workers_opened = 0;
    int exit_code = 0;

    auto stop = [&] {
        if (std::exchange(stop_requested, true)) return;
        boost::system::error_code ignored;
        signals.cancel(ignored);
        input.cancel(ignored);
        for (auto& w : workers)
            asio::post(w.io, [&w] {
                w.stopping = true;
                for (auto& ws : w.held) {
                    if (ws->is_open())
                        asio::co_spawn(w.io, close_held(ws), asio::detached);
                    else
                        beast::get_lowest_layer(*ws).close();  // still opening: abandon it
                }
            });
    };
    // Posted by each worker once its openers are done, so its counts are final here.
    auto worker_opened = [&] {
        if (++workers_opened < workers.size()) return;
        opening.reset();
        if (stop_requested) {
            std::fprintf(stderr, "bench_ws: stopped before all connections were open\n");
            exit_code = kExitRun;
            return;
        }
        std::size_t open = 0, failed = 0;
        for (const auto& w : workers) open += w.open, failed += w.errors;
        std::printf("{\"mode\":\"idle\",\"open\":%zu,\"failed\":%zu,\"seconds\":%.3f}\n", open,
                    failed, std::chrono::duration<double>(Clock::now() - start).count());
        std::fflush(stdout);
        if (failed * 100 > o.count) {
            std::fprintf(stderr, "bench_ws: %zu of %u connections failed\n", failed, o.count);
            exit_code = kExitRun;
            return stop();
        }
        std::printf("READY\n");
        std::fflush(stdout);
        ready = true;
        if (stdin_eof) stop();
    };

    unsigned first_id = 0;
    for (unsigned i = 0; i < workers.size(); ++i) {
        auto& w = workers[i];
        w.connections = o.count / workers.size() + (i < o.count % workers.size() ? 1 : 0);
        const unsigned share = std::max<unsigned>(1, o.rate / workers.size());
        w.openers = std::max(1u, std::min(share, w.connections));
        for (unsigned k = 0; k < w.openers; ++k)
            asio::co_spawn(w.io, opener(w, o, tls, first_id), [&](std::exception_ptr) {
                if (--w.openers == 0) asio::post(control, worker_opened);
            });
        first_id += w.connections;
    }
    signals.async_wait([&](boost::system::error_code ec, int) {
        if (!ec) stop();
    });
    // EOF on stdin stops the run once READY is out. A stdin epoll cannot watch (/dev/null, a
    // file) counts as at EOF. The dup keeps fd 0 itself open when the descriptor closes.
    boost::system::error_code assign_error;
    if (const int fd = ::dup(STDIN_FILENO); fd >= 0) input.assign(fd, assign_error);
    if (!input.is_open() || assign_error) {
        stdin_eof = true;
    } else {
        asio::co_spawn(control, wait_for_eof(input), [&](std::exception_ptr, bool eof) {
            stdin_eof = eof;
            if (eof && ready) stop();
        });
    }

    std::vector<std::thread> threads;
    for (auto& w : workers) threads.emplace_back([&w] { w.io.run(); });
    control.run();
    for (auto& t : threads) t.join();
    if (stdin_flags != -1) ::fcntl(STDIN_FILENO, F_SETFL, stdin_flags);
    unsigned dropped = 0;
    for (const auto& w : workers) dropped += w.dropped;
    if (dropped > 0)
        std::fprintf(stderr, "bench_ws: %u idle connection(s) ended before the stop\n", dropped);
    return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    try {
        if (argc == 2 &&
            (std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h"))
            return std::fputs(kUsage, stdout), 0;
        options = parse_options(argc, argv);
    } catch (const UsageError& e) {
        if (argc < 2) std::fputs(kUsage, stderr);
        std::fprintf(stderr, "bench_ws: %s (see bench_ws --help)\n", e.what());
        return kExitUsage;
    }
    // Thousands of idle connections need as many descriptors as the hard limit allows.
    rlimit files{};
    if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &files) != 0) std::perror("bench_ws: setrlimit");
    }
    try {
        ssl::context tls(ssl::context::tls_client);
        tls.set_verify_mode(ssl::verify_none);  // a benchmark measures, it does not authenticate
        SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_2_VERSION);
        static constexpr unsigned char kAlpn[] = "\x08http/1.1";
        if (SSL_CTX_set_alpn_protos(tls.native_handle(), kAlpn, sizeof kAlpn - 1) != 0)
            throw std::runtime_error("cannot set ALPN");
        std::vector<Worker> workers(options.threads);
        return options.echo ? run_echo(options, tls, workers) : run_idle(options, tls, workers);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_ws: %s\n", e.what());
        return kExitRun;
    }
}
