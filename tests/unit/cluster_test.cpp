// The cluster library's pure parts: a core's link rows summed up per edge, the member record's
// JSON both ways, and the roster that tells a core that left from one that was lost.
#include "cluster/cluster.hpp"

#include <catch2/catch.hpp>

using namespace edgeway;
using cluster::Member;
using telemetry::LinkState;
using telemetry::LinkStatus;

namespace {

LinkStatus row(std::string peer, LinkState state, int since_s, std::uint64_t open,
               std::uint64_t total, std::string reason = "") {
    LinkStatus status;
    status.peer = std::move(peer);
    status.name = "edge.example.com";
    status.state = state;
    status.reason = std::move(reason);
    status.since = telemetry::Clock::time_point(std::chrono::seconds(since_s));
    status.streams_open = open;
    status.streams_total = total;
    return status;
}

Member member(std::string name) {
    Member m;
    m.name = name;
    m.id = cluster::member_id(name);
    return m;
}

}  // namespace

TEST_CASE("cluster: one edge's links are up when one is, with their streams summed") {
    const auto edges = cluster::summarize({
        row("10.0.0.1:7443", LinkState::failed, 5, 0, 7, "connection refused"),
        row("10.0.0.1:7443", LinkState::active, 20, 2, 3),
        row("10.0.0.1:7443", LinkState::active, 10, 1, 4),
        row("10.0.0.2:7443", LinkState::connecting, 30, 0, 0),
        row("10.0.0.2:7443", LinkState::failed, 40, 0, 0, "TLS handshake failed"),
    });
    REQUIRE(edges.size() == 2);
    CHECK(edges[0].edge == "10.0.0.1:7443");
    CHECK(edges[0].state == "up");
    CHECK(edges[0].since == "1970-01-01T00:00:10.000Z");  // the first link up
    CHECK(edges[0].links_up == 2);
    CHECK(edges[0].links == 3);
    CHECK(edges[0].streams_open == 3);
    CHECK(edges[0].requests == 14);
    CHECK(edges[0].last_error == "connection refused");
    CHECK(edges[1].state == "connecting");
    CHECK(edges[1].links_up == 0);
    CHECK(edges[1].last_error == "TLS handshake failed");
    CHECK(cluster::summarize({row("e:1", LinkState::failed, 1, 0, 0)})[0].state == "down");
}

TEST_CASE("cluster: a member record reads back as written, a broken one is refused") {
    Member m = member("core-a.example.com:445");
    CHECK(m.id == "core-a.example.com_445");
    m.version = "0.9.0";
    m.admin_url = "https://core-a.example.com:445/";
    m.state = "draining";
    m.started = "2026-12-02T03:00:00.000Z";
    m.links = cluster::summarize({row("10.0.0.1:7443", LinkState::active, 1, 2, 3)});
    CHECK(cluster::member_from_json(cluster::to_json(m)) == m);
    CHECK_THROWS_WITH(cluster::member_from_json({{"name", "no id"}}),
                      Catch::Contains("not a member record"));
    CHECK(cluster::member_id("a/b c") == "a_b_c");
}

TEST_CASE("cluster: a record that goes is lost unless its core left, and forgotten later") {
    cluster::Roster roster;
    const auto t0 = telemetry::Clock::now();
    roster.update({member("a"), member("b"), member("c")}, {}, t0);
    CHECK(roster.cores().size() == 3);

    // b left (its departure marked), c's lease expired.
    roster.update({member("a")}, {"b"}, t0 + std::chrono::seconds(1));
    auto cores = roster.cores();
    REQUIRE(cores.size() == 2);
    CHECK(cores[0].member.name == "a");
    CHECK_FALSE(cores[0].lost);
    CHECK(cores[1].member.name == "c");
    CHECK(cores[1].lost);

    // c back: no longer lost. Then gone for longer than kLostFor: forgotten.
    roster.update({member("a"), member("c")}, {}, t0 + std::chrono::seconds(2));
    CHECK_FALSE(roster.cores()[1].lost);
    roster.update({member("a")}, {}, t0 + std::chrono::seconds(3));
    roster.update({member("a")}, {}, t0 + cluster::Roster::kLostFor + std::chrono::seconds(3));
    CHECK(roster.cores().size() == 1);
}
