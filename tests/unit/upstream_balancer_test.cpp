// The web bridge balancer's state machine: round robin, down and checked up again, the fallback
// when every target is down. Time is passed in, so nothing waits.
#include "proxy/upstream_balancer.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>

using namespace edgeway;
using namespace edgeway::proxy;
using namespace std::chrono_literals;
using Health = telemetry::UpstreamHealth;

namespace {

const UpstreamBalancer::Service kJoin{"join.example.com", 443};
const std::vector<std::string> kTargets{"10.0.0.5:443", "10.0.0.6:443", "10.0.0.7:443"};
constexpr std::chrono::milliseconds kInterval = 2000ms;

// A balancer with a quiet log, and the moment each test's clock starts.
struct BalancerTest {
    Logger log{"test", LogLevel::error};
    UpstreamBalancer balancer{log};
    const UpstreamBalancer::Clock::time_point t0 = UpstreamBalancer::Clock::now();
};

std::vector<std::string> picks(UpstreamBalancer& balancer, int count,
                               const std::vector<std::string>& tried = {}) {
    std::vector<std::string> chosen;
    for (int i = 0; i < count; ++i) chosen.push_back(*balancer.pick(kJoin, kTargets, tried));
    return chosen;
}

std::map<std::string, telemetry::UpstreamTarget> by_address(const UpstreamBalancer& balancer) {
    std::map<std::string, telemetry::UpstreamTarget> rows;
    for (auto& row : balancer.snapshot()) rows[row.address] = row;
    return rows;
}

}  // namespace

TEST_CASE_METHOD(BalancerTest,
                 "balancer: round robin over the targets, each new one unchecked until it answers",
                 "[unit][balancer]") {
    CHECK(picks(balancer, 6) == std::vector<std::string>{kTargets[0], kTargets[1], kTargets[2],
                                                         kTargets[0], kTargets[1], kTargets[2]});
    auto rows = by_address(balancer);
    REQUIRE(rows.size() == 3);
    CHECK(rows[kTargets[0]].health == Health::unchecked);
    CHECK(rows[kTargets[0]].service == "join.example.com");

    balancer.succeeded(kJoin, kTargets[0]);
    balancer.succeeded(kJoin, kTargets[0]);
    rows = by_address(balancer);
    CHECK(rows[kTargets[0]].health == Health::up);
    CHECK(rows[kTargets[0]].requests == 2);
    CHECK(rows[kTargets[1]].requests == 0);

    // Another port of the same host is another service with a turn of its own.
    const UpstreamBalancer::Service other{"join.example.com", 8443};
    CHECK(other.name() == "join.example.com:8443");
    CHECK(balancer.pick(other, {"10.0.0.9:8443"}, {}) == "10.0.0.9:8443");
}

TEST_CASE_METHOD(BalancerTest,
                 "balancer: a target that failed gets no connections until a check finds it up",
                 "[unit][balancer]") {
    balancer.failed(kJoin, kTargets[1], "cannot connect: Connection refused", kInterval, t0);
    CHECK(picks(balancer, 4) ==
          std::vector<std::string>{kTargets[0], kTargets[2], kTargets[0], kTargets[2]});
    auto row = by_address(balancer)[kTargets[1]];
    CHECK(row.health == Health::down);
    CHECK(row.reason == "cannot connect: Connection refused");

    // Checked once per interval after its last failure, and handed out once at a time.
    CHECK(balancer.due_checks(kInterval, t0 + 1999ms).empty());
    auto due = balancer.due_checks(kInterval, t0 + 2000ms);
    REQUIRE(due.size() == 1);
    CHECK(due[0].address == kTargets[1]);
    CHECK(due[0].service == kJoin);
    CHECK(balancer.due_checks(kInterval, t0 + 5000ms).empty());  // still being checked

    // A failed check: still down, checked again an interval later.
    balancer.checked(due[0], false, "TLS handshake failed: timed out", t0 + 2100ms);
    CHECK(by_address(balancer)[kTargets[1]].reason == "TLS handshake failed: timed out");
    CHECK(balancer.due_checks(kInterval, t0 + 4000ms).empty());
    due = balancer.due_checks(kInterval, t0 + 4100ms);
    REQUIRE(due.size() == 1);

    // A check that passes: up, and in the turn again.
    balancer.checked(due[0], true, "", t0 + 4200ms);
    CHECK(by_address(balancer)[kTargets[1]].health == Health::up);
    CHECK(by_address(balancer)[kTargets[1]].reason.empty());
    const auto chosen = picks(balancer, 3);
    CHECK(std::count(chosen.begin(), chosen.end(), kTargets[1]) == 1);
    CHECK(balancer.due_checks(kInterval, t0 + 60s).empty());
}

TEST_CASE_METHOD(BalancerTest,
                 "balancer: a failed try is retried once, on another target, never on the same",
                 "[unit][balancer]") {
    STATIC_REQUIRE(UpstreamBalancer::kTriesPerRequest == 2);
    // The first try went to a target that failed: the retry goes to another one.
    const std::string first = *balancer.pick(kJoin, kTargets, {});
    balancer.failed(kJoin, first, "refused", kInterval, t0);
    const auto retry = balancer.pick(kJoin, kTargets, {first});
    REQUIRE(retry.has_value());
    CHECK(*retry != first);
    // The retry failed too: no third try, though a third target is there.
    CHECK_FALSE(balancer.pick(kJoin, kTargets, {first, *retry}).has_value());

    // Even when the one that failed is the only one not down, the retry goes elsewhere.
    balancer.failed(kJoin, kTargets[1], "refused", kInterval, t0);
    balancer.failed(kJoin, kTargets[2], "refused", kInterval, t0 + 1ms);
    balancer.succeeded(kJoin, kTargets[0]);
    CHECK(balancer.pick(kJoin, kTargets, {kTargets[0]}) == kTargets[1]);        // down longest
    CHECK(balancer.pick(kJoin, {kTargets[0]}, {kTargets[0]}) == std::nullopt);  // no other
    CHECK_FALSE(balancer.pick(kJoin, {}, {}).has_value());
}

TEST_CASE_METHOD(BalancerTest,
                 "balancer: with every target down, the one that failed longest ago is tried",
                 "[unit][balancer]") {
    balancer.failed(kJoin, kTargets[2], "refused", kInterval, t0);
    balancer.failed(kJoin, kTargets[0], "refused", kInterval, t0 + 10ms);
    balancer.failed(kJoin, kTargets[1], "refused", kInterval, t0 + 20ms);
    CHECK(balancer.pick(kJoin, kTargets, {}) == kTargets[2]);
    CHECK(balancer.pick(kJoin, kTargets, {kTargets[2]}) == kTargets[0]);

    // Failing again while down makes it the most recent failure.
    balancer.failed(kJoin, kTargets[2], "refused again", kInterval, t0 + 30ms);
    CHECK(balancer.pick(kJoin, kTargets, {}) == kTargets[0]);
    CHECK(by_address(balancer)[kTargets[2]].reason == "refused again");

    // A request that got through to a down target brings it back at once.
    balancer.succeeded(kJoin, kTargets[0], t0 + 40ms);
    CHECK(by_address(balancer)[kTargets[0]].health == Health::up);
    CHECK(picks(balancer, 3) == std::vector<std::string>{kTargets[0], kTargets[0], kTargets[0]});
}

TEST_CASE_METHOD(BalancerTest,
                 "balancer: a target no longer resolved is forgotten, and its check result ignored",
                 "[unit][balancer]") {
    balancer.failed(kJoin, kTargets[1], "refused", kInterval, t0);
    const auto due = balancer.due_checks(kInterval, t0 + kInterval);
    REQUIRE(due.size() == 1);
    balancer.forget(kJoin, kTargets[1]);
    balancer.checked(due[0], true, "", t0 + kInterval);
    CHECK(balancer.snapshot().empty());
    CHECK(balancer.due_checks(kInterval, t0 + 1h).empty());
}
