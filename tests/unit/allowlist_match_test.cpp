// Unit tests for the compiled matcher: exact and prefix rules, the union of methods across
// rules, the separation of protocols, hosts and ports, the walk up nested prefixes, the reasons
// given, and large random rule sets checked against a brute-force reference.
#include "allowlist/allowlist.hpp"

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

using namespace edgeway::allowlist;

namespace {

constexpr MethodSet kGet = method_bit(Method::GET);
constexpr MethodSet kPost = method_bit(Method::POST);
constexpr MethodSet kPut = method_bit(Method::PUT);
constexpr MethodSet kDelete = method_bit(Method::DELETE);

Rule rule(std::int64_t id, Match match, std::string path, MethodSet methods,
          Protocol protocol = Protocol::https, std::string host = "join.example.com",
          std::uint16_t port = 443, std::string description = "") {
    Rule r;
    r.id = id;
    r.description = std::move(description);
    r.protocol = protocol;
    r.host = std::move(host);
    r.port = port;
    r.match = match;
    r.path = std::move(path);
    r.methods = methods;
    return r;
}

NormalizedRequest request(Method method, std::string path, Protocol protocol = Protocol::https,
                          std::string host = "join.example.com", std::uint16_t port = 443) {
    NormalizedRequest r;
    r.protocol = protocol;
    r.method = method;
    r.host = std::move(host);
    r.port = port;
    r.path = std::move(path);
    return r;
}

RuleSet set_of(std::vector<Rule> rules, std::uint64_t version = 1) {
    return RuleSet{version, std::move(rules)};
}

// The id of the rule a decision names, or -1.
std::int64_t rule_id(const Decision& d) {
    return d.rule ? d.rule->id : -1;
}

bool path_matches(const Rule& r, std::string_view path) {
    return r.match == Match::exact ? path == r.path : path.starts_with(r.path);
}

bool same_group(const Rule& r, const NormalizedRequest& q) {
    return r.protocol == q.protocol && r.host == q.host && r.port == q.port;
}

}  // namespace

TEST_CASE("match: exact rules match the whole path, prefix rules its start",
          "[unit][allowlist][match]") {
    const CompiledRules rules(set_of({
        rule(1, Match::exact, "/api/v1/status", kGet),
        rule(2, Match::prefix, "/static/", kGet),
        rule(3, Match::prefix, "/api", kPost),
    }));
    struct Case {
        Method method;
        std::string path;
        std::int64_t allowed_by;  // -1: refused
    };
    const std::vector<Case> cases = {
        {Method::GET, "/api/v1/status", 1},
        {Method::GET, "/api/v1/status/", -1},
        {Method::GET, "/api/v1/statusx", -1},
        {Method::GET, "/api/v1/", -1},
        {Method::GET, "/static/", 2},
        {Method::GET, "/static/app.js", 2},
        {Method::GET, "/static", -1},
        {Method::GET, "/", -1},
        {Method::POST, "/api", 3},
        {Method::POST, "/api2", 3},  // plain string prefix
        {Method::POST, "/api/v1/status", 3},
        {Method::POST, "/ap", -1},
        {Method::PUT, "/api/x", -1},
    };
    for (const auto& c : cases) {
        CAPTURE(method_name(c.method), c.path);
        const Decision d = rules.check(request(c.method, c.path));
        CHECK(d.allowed == (c.allowed_by >= 0));
        if (d.allowed) {
            CHECK(rule_id(d) == c.allowed_by);
            CHECK(d.reason.empty());
        }
    }
}

TEST_CASE("match: methods of all matching rules add up", "[unit][allowlist][match]") {
    const CompiledRules rules(set_of({
        rule(1, Match::prefix, "/api/", kGet),
        rule(2, Match::prefix, "/api/", kPost),
        rule(3, Match::exact, "/api/upload", kPut),
        rule(4, Match::prefix, "/", kDelete),
        rule(5, Match::prefix, "/api/", kGet | kPost),
    }));
    CHECK(rule_id(rules.check(request(Method::GET, "/api/x"))) == 1);  // the earliest one
    CHECK(rule_id(rules.check(request(Method::POST, "/api/x"))) == 2);
    CHECK(rule_id(rules.check(request(Method::PUT, "/api/upload"))) == 3);
    CHECK(rule_id(rules.check(request(Method::GET, "/api/upload"))) == 1);
    CHECK(rule_id(rules.check(request(Method::DELETE, "/api/upload"))) == 4);
    CHECK(rule_id(rules.check(request(Method::DELETE, "/other"))) == 4);
    CHECK_FALSE(rules.check(request(Method::PUT, "/api/x")).allowed);
    CHECK_FALSE(rules.check(request(Method::PATCH, "/api/upload")).allowed);
}

TEST_CASE("match: exact rules decide before prefixes, longer prefixes before shorter",
          "[unit][allowlist][match]") {
    const CompiledRules rules(set_of({
        rule(1, Match::prefix, "/", kGet),
        rule(2, Match::prefix, "/a/", kGet),
        rule(3, Match::prefix, "/a/b/", kGet),
        rule(4, Match::exact, "/a/b/c", kGet),
    }));
    CHECK(rule_id(rules.check(request(Method::GET, "/a/b/c"))) == 4);
    CHECK(rule_id(rules.check(request(Method::GET, "/a/b/cd"))) == 3);
    CHECK(rule_id(rules.check(request(Method::GET, "/a/bc"))) == 2);
    CHECK(rule_id(rules.check(request(Method::GET, "/ab"))) == 1);
}

TEST_CASE("match: nested prefixes are walked up to the rule that allows",
          "[unit][allowlist][match]") {
    const CompiledRules rules(set_of({
        rule(1, Match::prefix, "/", kGet),
        rule(2, Match::prefix, "/a/", kPost),
        rule(3, Match::prefix, "/a/b/", kDelete),
        rule(4, Match::prefix, "/a/b/c/", kPut),
        rule(5, Match::prefix, "/a/bz", kPut),
        rule(6, Match::prefix, "/abc/x", kPut),
        rule(7, Match::prefix, "/ab", kPost),
    }));
    struct Case {
        Method method;
        std::string path;
        std::int64_t decided_by;  // allowed by this rule, or refused naming -decided_by
    };
    const std::vector<Case> cases = {
        {Method::PUT, "/a/b/c/d", 4},
        {Method::DELETE, "/a/b/c/d", 3},
        {Method::POST, "/a/b/c/d", 2},
        {Method::GET, "/a/b/c/d", 1},
        {Method::PATCH, "/a/b/c/d", -4},
        {Method::PUT, "/a/b/x", -3},
        {Method::POST, "/a/b/x", 2},
        {Method::PUT, "/a/bzz", 5},
        {Method::DELETE, "/a/bzz", -5},
        {Method::POST, "/a/bzz", 2},
        {Method::GET, "/a/c", 1},
        // The greatest entry below "/abd" is "/abc/x", not a prefix of it: the lookup must
        // fall back to "/ab" (their common part), not stop at "/".
        {Method::POST, "/abd", 7},
        {Method::PUT, "/abd", -7},
        {Method::PUT, "/abc/xyz", 6},
        {Method::POST, "/abc/y", 7},
        {Method::GET, "/b", 1},
        {Method::POST, "/b", -1},
    };
    for (const auto& c : cases) {
        CAPTURE(method_name(c.method), c.path);
        const Decision d = rules.check(request(c.method, c.path));
        CHECK(d.allowed == (c.decided_by > 0));
        CHECK(rule_id(d) == (c.decided_by > 0 ? c.decided_by : -c.decided_by));
    }
}

TEST_CASE("match: protocol, host and port each separate rules", "[unit][allowlist][match]") {
    const CompiledRules rules(set_of({
        rule(1, Match::prefix, "/", kGet, Protocol::https, "join.example.com", 443),
        rule(2, Match::prefix, "/ws", kGet, Protocol::wss, "join.example.com", 443),
        rule(3, Match::prefix, "/", kGet, Protocol::https, "join.example.com", 8443),
        rule(4, Match::prefix, "/", kGet, Protocol::https, "[::1]", 443),
    }));
    CHECK(rule_id(rules.check(request(Method::GET, "/ws"))) == 1);
    CHECK(rule_id(rules.check(request(Method::GET, "/ws", Protocol::wss))) == 2);
    CHECK_FALSE(rules.check(request(Method::GET, "/x", Protocol::wss)).allowed);
    CHECK(rule_id(rules.check(
              request(Method::GET, "/x", Protocol::https, "join.example.com", 8443))) == 3);
    CHECK(rules.check(request(Method::GET, "/x", Protocol::wss, "join.example.com", 8443)).reason ==
          "no rule for wss join.example.com:8443");
    CHECK(
        rules.check(request(Method::GET, "/x", Protocol::https, "join.example.com", 9443)).reason ==
        "no rule for https join.example.com:9443");
    CHECK(rules.check(request(Method::GET, "/x", Protocol::https, "other.example.com")).reason ==
          "no rule for https other.example.com:443");
    CHECK(rule_id(rules.check(request(Method::GET, "/x", Protocol::https, "[::1]"))) == 4);
}

TEST_CASE("match: refusals say why", "[unit][allowlist][match]") {
    const CompiledRules rules(set_of({
        rule(4, Match::prefix, "/api/", kGet | kPost, Protocol::https, "localhost", 8443,
             "Reports API"),
        rule(5, Match::exact, "/health", kGet, Protocol::https, "localhost", 8443),
    }));
    const auto at = [](Method method, std::string path) {
        return request(method, std::move(path), Protocol::https, "localhost", 8443);
    };
    const Decision no_group =
        rules.check(request(Method::GET, "/api/", Protocol::https, "localhost", 443));
    CHECK_FALSE(no_group.allowed);
    CHECK(no_group.rule == nullptr);
    CHECK(no_group.reason == "no rule for https localhost:443");

    const Decision no_path = rules.check(at(Method::GET, "/admin"));
    CHECK_FALSE(no_path.allowed);
    CHECK(no_path.rule == nullptr);
    CHECK(no_path.reason == "no rule matches path /admin on https localhost:8443");

    const Decision no_method = rules.check(at(Method::DELETE, "/api/reports"));
    CHECK_FALSE(no_method.allowed);
    CHECK(rule_id(no_method) == 4);
    CHECK(no_method.reason ==
          R"(method DELETE is not allowed by #4 https localhost:8443 prefix /api/ GET,POST )"
          R"((operator: "Reports API"))");

    const Decision exact = rules.check(at(Method::POST, "/health"));
    CHECK(exact.reason ==
          "method POST is not allowed by #5 https localhost:8443 exact /health GET (operator)");
}

TEST_CASE("match: an empty rule set refuses everything and keeps its version",
          "[unit][allowlist][match]") {
    const CompiledRules rules(set_of({}, 0));
    CHECK(rules.version() == 0);
    CHECK(rules.check(request(Method::GET, "/")).reason ==
          "no rule for https join.example.com:443");

    const CompiledRules seven(set_of({rule(1, Match::prefix, "/", kGet)}, 7));
    CHECK(seven.version() == 7);
    REQUIRE(seven.rule_set().rules.size() == 1);
    CHECK(seven.check(request(Method::GET, "/")).rule == &seven.rule_set().rules[0]);
}

TEST_CASE("match: normalise then check, as the edge does", "[unit][allowlist][match]") {
    const CompiledRules rules(set_of({
        rule(1, Match::prefix, "/public/", kGet),
        rule(2, Match::prefix, "/ws/", kGet, Protocol::wss),
    }));
    const auto check = [&](std::string_view target, bool websocket = false) {
        RequestHead head;
        head.method = "GET";
        head.target = target;
        head.host = "JOIN.example.com.";
        head.websocket = websocket;
        const Normalized n = normalize(head);
        if (const auto* r = std::get_if<Refusal>(&n)) return "refused " + std::to_string(r->status);
        return rules.check(std::get<NormalizedRequest>(n)).allowed ? std::string("allowed")
                                                                   : std::string("denied");
    };
    CHECK(check("/public/a") == "allowed");
    CHECK(check("/public/../admin") == "denied");
    CHECK(check("/public/%2e%2e/admin") == "refused 400");
    CHECK(check("/public%2f../admin") == "refused 400");
    CHECK(check("/x/../public/a") == "allowed");
    CHECK(check("/%70ublic/a") == "allowed");
    CHECK(check("//public//a") == "allowed");
    CHECK(check("/ws/room") == "denied");
    CHECK(check("/ws/room", true) == "allowed");
}

TEST_CASE("match: large random rule sets agree with a brute-force reference",
          "[unit][allowlist][match]") {
    std::mt19937 random(20261125);
    const std::vector<std::string> hosts = {"a.example.com", "b.example.com", "10.0.0.1"};
    const std::vector<std::uint16_t> ports = {443, 8443};
    // A small vocabulary makes paths share prefixes, so nesting and near-misses are common.
    const std::vector<std::string> pieces = {"a", "b", "ab", "abc", "api", "v1", "x", "a.b"};
    const auto pick = [&](const auto& list) { return list[random() % list.size()]; };
    const auto random_path = [&] {
        std::string path;
        const int segments = 1 + static_cast<int>(random() % 5);
        for (int i = 0; i < segments; ++i) path += "/" + pick(pieces);
        if (random() % 3 == 0) path += "/";
        return path;
    };
    const auto random_protocol = [&] {
        return random() % 4 == 0 ? Protocol::wss : Protocol::https;
    };

    for (const std::size_t size : {10u, 1000u, 10000u}) {
        CAPTURE(size);
        std::vector<Rule> list;
        for (std::size_t i = 0; i < size; ++i) {
            const MethodSet methods = static_cast<MethodSet>(1 + random() % 0x7F);
            list.push_back(rule(static_cast<std::int64_t>(i + 1),
                                random() % 2 ? Match::exact : Match::prefix, random_path(), methods,
                                random_protocol(), pick(hosts), pick(ports)));
        }
        const CompiledRules compiled(set_of(list));
        const auto& rules = compiled.rule_set().rules;

        for (int n = 0; n < 10000; ++n) {
            NormalizedRequest q = request(static_cast<Method>(random() % kMethodCount), "",
                                          random_protocol(), pick(hosts), pick(ports));
            // Half the requests start from a rule's path, so most groups see hits.
            q.path = n % 2 ? random_path() : rules[random() % rules.size()].path + pick(pieces);
            const MethodSet bit = method_bit(q.method);

            bool allowed = false, exact_allows = false, group = false, path_hit = false;
            std::size_t longest_allowing_prefix = 0;
            for (const Rule& r : rules) {
                if (!same_group(r, q)) continue;
                group = true;
                if (!path_matches(r, q.path)) continue;
                path_hit = true;
                if (!(r.methods & bit)) continue;
                allowed = true;
                if (r.match == Match::exact)
                    exact_allows = true;
                else
                    longest_allowing_prefix = std::max(longest_allowing_prefix, r.path.size());
            }

            const Decision d = compiled.check(q);
            CAPTURE(protocol_name(q.protocol), q.host, q.port, method_name(q.method), q.path);
            REQUIRE(d.allowed == allowed);
            if (allowed) {
                REQUIRE(d.rule);
                CHECK(same_group(*d.rule, q));
                CHECK(path_matches(*d.rule, q.path));
                CHECK((d.rule->methods & bit));
                if (exact_allows)
                    CHECK(d.rule->match == Match::exact);
                else
                    CHECK(d.rule->path.size() == longest_allowing_prefix);
            } else if (!group) {
                CHECK(d.rule == nullptr);
                CHECK(d.reason.starts_with("no rule for "));
            } else if (!path_hit) {
                CHECK(d.rule == nullptr);
                CHECK(d.reason.starts_with("no rule matches path " + q.path + " on "));
            } else {
                REQUIRE(d.rule);
                CHECK(same_group(*d.rule, q));
                CHECK(path_matches(*d.rule, q.path));
                CHECK(d.reason == std::string("method ") + std::string(method_name(q.method)) +
                                      " is not allowed by " + d.rule->describe());
            }
        }
    }
}
