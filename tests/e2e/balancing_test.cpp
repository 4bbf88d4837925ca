// Several web bridges behind one join URI: the core spreads requests over the ones that are up,
// loses no new request when one goes away, takes it back when it returns, and keeps a WebSocket
// on the web bridge it started on.
#include "tests/e2e/e2e.hpp"
#include "tests/support/admin_appliance.hpp"

#include <boost/asio/use_awaitable.hpp>

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <mutex>
#include <thread>

using namespace edgeway::test;

namespace {

// Short, so that a web bridge that is back is found within a fraction of a second.
constexpr int kCheckIntervalMs = 300;

// The GETs of /health a web bridge answered so far (it logs one line per request).
std::size_t served(ChildProcess& bridge) {
    return bridge.log().count(R"(GET /health 200 )");
}
std::size_t upgrades(ChildProcess& bridge) {
    return bridge.log().count(R"(GET /ws/echo 101 )");
}

// The core's lines for a web bridge target going down and coming back.
std::string down_line(const std::string& address) {
    return "web bridge " + regex_escape(address) + R"( for \S+ is down: )";
}
std::string up_line(const std::string& address) {
    return "web bridge " + regex_escape(address) + R"( for \S+ is up again)";
}

json targets_row(AdminClient& admin, const std::string& address) {
    const json rows = json::parse(admin.get("/api/v1/status/targets").body).at("targets");
    for (const auto& row : rows)
        if (row.at("address") == address) return row;
    return json();
}

// Clients sending GET /health one after another, each on its own keep-alive connection to the
// edge, on a thread of their own until stop() (or max_requests in all: a bound for a test that
// lost its way). Every request's start and outcome are kept.
class HealthLoad {
  public:
    struct Request {
        Clock::time_point started;
        bool ok = false;
        std::string error;
    };

    HealthLoad(TlsTarget target, int clients, std::size_t max_requests)
        : target_(std::move(target)), context_(make_context(target_)), max_(max_requests) {
        for (int i = 0; i < clients; ++i) net::co_spawn(io_, client(), [](std::exception_ptr) {});
        thread_ = std::thread([this] { io_.run(); });
    }
    ~HealthLoad() { stop(); }

    std::size_t finished() const { return finished_; }
    // How many requests that started at or after since have finished.
    std::size_t finished_since(Clock::time_point since) {
        std::lock_guard lock(mutex_);
        return static_cast<std::size_t>(
            std::count_if(requests_.begin(), requests_.end(),
                          [&](const Request& request) { return request.started >= since; }));
    }
    void stop() {
        stopping_ = true;
        if (thread_.joinable()) thread_.join();
    }
    std::vector<Request> requests() {
        std::lock_guard lock(mutex_);
        return requests_;
    }

  private:
    net::awaitable<void> client() {
        std::unique_ptr<TlsStream> stream;
        beast::flat_buffer buffer;
        while (!stopping_ && started_++ < max_) {
            Request request;
            request.started = Clock::now();
            try {
                if (!stream) {
                    stream = std::make_unique<TlsStream>(io_, *context_);
                    buffer.clear();
                    co_await async_connect(*stream, target_);
                }
                const auto response = co_await async_request(
                    *stream, buffer, make_request(target_, http::verb::get, "/health"),
                    target_.timeout);
                request.ok = response.status == 200 && response.body == "ok\n";
                if (!request.ok) request.error = "status " + std::to_string(response.status);
            } catch (const std::exception& e) {
                request.error = e.what();
                stream.reset();
            }
            std::lock_guard lock(mutex_);
            requests_.push_back(std::move(request));
            ++finished_;
        }
    }

    TlsTarget target_;
    std::shared_ptr<ssl::context> context_;
    const std::size_t max_;
    net::io_context io_;
    std::atomic<bool> stopping_{false};
    std::size_t started_ = 0;  // on the io thread only
    std::atomic<std::size_t> finished_{0};
    std::mutex mutex_;
    std::vector<Request> requests_;
    std::thread thread_;
};

struct ClosedPort {
    int fd = -1;
    std::uint16_t port = reserve_closed_port(fd);
    ~ClosedPort() { ::close(fd); }
    std::string address() const { return "127.0.0.1:" + std::to_string(port); }
};

}  // namespace

TEST_CASE(
    "two web bridges behind one join URI share the load, one stopped under load fails no new "
    "request, and restarted it takes load again",
    "[e2e][balance]") {
    AdminApplianceOptions options;
    options.appliance.webbridges = 2;
    options.appliance.core_patch = {{"upstream", {{"health_check_interval_ms", kCheckIntervalMs}}}};
    AdminAppliance admin(options);
    Appliance& app = admin.app();
    const std::string a = app.webbridge_address(0), b = app.webbridge_address(1);

    // A bounded load, one request after another: each web bridge gets its turn.
    constexpr std::size_t kRequests = 40;
    HttpsConnection connection(app.target());
    for (std::size_t i = 0; i < kRequests; ++i) REQUIRE(connection.get("/health").status == 200);
    REQUIRE(wait_until(
        [&] { return served(app.webbridge(0)) + served(app.webbridge(1)) == kRequests; }, 5s));
    const std::size_t share_a = served(app.webbridge(0)), share_b = served(app.webbridge(1));
    WARN("share of " << kRequests << " requests: A " << share_a << ", B " << share_b);
    CHECK(share_a >= kRequests * 2 / 5);
    CHECK(share_b >= kRequests * 2 / 5);

    // B stops while three clients keep sending requests.
    HealthLoad load(app.target(), 3, 20000);
    REQUIRE(wait_until([&] { return load.finished() >= 30; }, 10s));
    const auto stopping = Clock::now();
    app.stop_webbridge(1);
    app.core().require_log(down_line(b), 10s);
    const auto detected = Clock::now();
    REQUIRE(wait_until([&] { return load.finished_since(detected) >= 100; }, 20s));
    CHECK(app.core().log().count(down_line(b)) == 1);  // said once, not per request
    CHECK(app.core().log().count(down_line(a)) == 0);

    // The targets page shows which web bridge is down and why.
    AdminClient core = admin.core_admin();
    const json row_a = targets_row(core, a), row_b = targets_row(core, b);
    INFO(row_a.dump() << "\n" << row_b.dump());
    CHECK(row_a.value("state", "") == "Up");
    CHECK(row_a.value("requests", std::size_t{0}) > kRequests / 2);
    CHECK(row_b.value("state", "") == "Down");
    CHECK_FALSE(row_b.value("reason", "").empty());
    CHECK_FALSE(row_b.value("since", "").empty());

    // B is back on its port: the health check finds it and it takes load again.
    app.start_webbridge(1);
    const auto restarted = Clock::now();
    REQUIRE(wait_until([&] { return served(app.webbridge(1)) >= 1; }, 10s, 5ms));
    const double back_ms = elapsed_ms(restarted);
    REQUIRE(wait_until([&] { return served(app.webbridge(1)) >= 20; }, 10s));
    load.stop();
    app.core().require_log(up_line(b), 5s);
    CHECK(targets_row(core, b).value("state", "") == "Up");

    std::size_t failed = 0, failed_after_detection = 0;
    std::string first_failure;
    for (const auto& request : load.requests()) {
        if (request.ok) continue;
        if (failed++ == 0) first_failure = request.error;
        failed_after_detection += request.started >= detected;
    }
    WARN(load.finished() << " requests under load; B detected down "
                         << std::chrono::duration_cast<Millis>(detected - stopping).count()
                         << " ms after SIGTERM; failed: " << failed << " ("
                         << failed_after_detection << " after detection); B took load again "
                         << back_ms << " ms after its restart");
    INFO(first_failure);
    CHECK(failed_after_detection == 0);
    // Requests that raced the stop were retried on A as well.
    CHECK(failed == 0);
    CHECK(back_ms < 3 * kCheckIntervalMs + 1000);
}

TEST_CASE(
    "requests with a body whose web bridge target refuses connections go to the other one, and "
    "with every target down they get 502 at once",
    "[e2e][balance][upstream]") {
    ClosedPort closed;
    ApplianceOptions options;
    options.extra_targets = {closed.address()};  // after the demo web bridge
    Appliance app(options);

    // Round robin sends the second new connection to the closed port: refused, so the upload
    // goes to the web bridge, and the closed port gets no more.
    for (std::uint64_t i = 0; i < 4; ++i) {
        const auto upload = https_upload(app.target(), "/upload", 200000, i % 2 == 1, i);
        INFO("upload " << i << ": " << upload.write_error);
        REQUIRE(upload.response.status == 200);
        CHECK(json::parse(upload.response.body).at("sha256").get<std::string>() ==
              upload.sent_sha256);
    }
    CHECK(app.webbridge().log().count(R"(POST /upload 200 )") == 4);
    CHECK(app.core().log().count(down_line(closed.address())) == 1);
    CHECK(app.core().log().count(R"(trying web bridge )") == 1);

    // Both down: the request tries each (the one down longest first) and gets 502 quickly.
    app.stop_webbridge(0);
    const auto start = Clock::now();
    CHECK(https_get(app.target(), "/health").status == 502);
    CHECK(elapsed_ms(start) < 3000);
    app.core().require_log(R"(every web bridge for \S+ is down \(2 targets\))", 5s);
    const auto error = app.core().require_log(R"(upstream error trace=\S+: (.+))", 5s);
    CHECK_THAT(error[1], Contains("2 web bridge targets tried"));

    // Back: the next request finds it (with every target down, each is still tried).
    app.start_webbridge(0);
    CHECK(https_get(app.target(), "/health").status == 200);
}

TEST_CASE(
    "with upstream.health_check_path, a web bridge back on its port takes requests only once "
    "that path answers 2xx or 3xx",
    "[e2e][balance][reload]") {
    ApplianceOptions options;
    options.webbridges = 2;
    options.core_patch = {
        {"upstream",
         {{"health_check_interval_ms", kCheckIntervalMs}, {"health_check_path", "/status/503"}}}};
    Appliance app(options);
    const std::string b = app.webbridge_address(1);

    app.stop_webbridge(1);
    for (int i = 0; i < 4; ++i) CHECK(https_get(app.target(), "/health").status == 200);
    app.core().require_log(down_line(b), 5s);

    // Back, but its check path answers 503: the checks reach it, requests do not.
    app.start_webbridge(1);
    app.webbridge(1).require_log(R"(GET /status/503 503 )", 5s, 2);
    for (int i = 0; i < 4; ++i) CHECK(https_get(app.target(), "/health").status == 200);
    CHECK(served(app.webbridge(1)) == 0);
    CHECK(app.core().log().count(up_line(b)) == 0);

    // A check path that answers (applied by SIGHUP): up at the next check, in the turn again.
    json config = app.core_config();
    config["upstream"]["health_check_path"] = "/health";
    write_json(app.core_config_file(), config);
    app.core().signal(SIGHUP);
    app.core().require_log(up_line(b), 5s);
    app.webbridge(1).require_log(R"(GET /health 200 )", 5s);  // the check's own
    for (int i = 0; i < 4; ++i) CHECK(https_get(app.target(), "/health").status == 200);
    CHECK(wait_until([&] { return served(app.webbridge(1)) == 1 + 2; }, 5s));
}

TEST_CASE("a WebSocket stays on its web bridge while new ones go to the web bridges that are up",
          "[e2e][balance][websocket]") {
    ApplianceOptions options;
    options.webbridges = 2;
    options.core_patch = {{"upstream", {{"health_check_interval_ms", kCheckIntervalMs}}}};
    Appliance app(options);

    WebSocketClient first(app.target(), "/ws/echo");
    REQUIRE(wait_until([&] { return upgrades(app.webbridge(0)) + upgrades(app.webbridge(1)) == 1; },
                       5s));
    const std::size_t home = upgrades(app.webbridge(0)) == 1 ? 0 : 1, other = 1 - home;
    WebSocketClient second(app.target(), "/ws/echo");  // round robin: the other web bridge
    REQUIRE(wait_until([&] { return upgrades(app.webbridge(other)) == 1; }, 5s));

    // The other web bridge stops: its WebSocket ends; the first one is not moved or cut.
    app.stop_webbridge(other);
    CHECK_THROWS(second.read());
    for (int i = 0; i < 3; ++i) {
        WebSocketClient fresh(app.target(), "/ws/echo");
        fresh.send_text("new " + std::to_string(i));
        CHECK(fresh.read().data == "new " + std::to_string(i));
        first.send_text("still here " + std::to_string(i));
        CHECK(first.read().data == "still here " + std::to_string(i));
        fresh.close();
    }
    CHECK(upgrades(app.webbridge(home)) == 4);
    CHECK(first.close().code == websocket::close_code::normal);
}
