// Unit tests for the rule model: names, one-line descriptions, the JSON forms of a rule, a rule
// set and a rule file with their error messages, and the automatic rules made from join URLs.
#include "allowlist/allowlist.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

using namespace edgeway::allowlist;
using nlohmann::json;

namespace {

constexpr const char* kMethodsExpected =
    "expected a non-empty list of GET, POST, PUT, HEAD, DELETE, OPTIONS, PATCH";

json valid_rule() {
    return json::parse(R"({"id": 12, "description": "Reports API", "protocol": "https",
        "host": "join.example.com", "port": 443, "match": "prefix", "path": "/api/",
        "methods": ["GET", "POST"], "origin": "operator"})");
}

Rule make_rule(std::int64_t id, std::string description, Protocol protocol, std::string host,
               std::uint16_t port, Match match, std::string path, MethodSet methods,
               Origin origin = Origin::operator_rule) {
    Rule rule;
    rule.id = id;
    rule.description = std::move(description);
    rule.protocol = protocol;
    rule.host = std::move(host);
    rule.port = port;
    rule.match = match;
    rule.path = std::move(path);
    rule.methods = methods;
    rule.origin = origin;
    return rule;
}

constexpr MethodSet kGetPost = method_bit(Method::GET) | method_bit(Method::POST);

template <typename F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const RuleError& e) {
        return e.what();
    }
    return "(no error)";
}

std::string rule_error(const json& value, const std::string& where = "rule 3") {
    return error_of([&] { rule_from_json(value, where); });
}

json with(std::string_view field, json value) {
    json rule = valid_rule();
    rule[std::string(field)] = std::move(value);
    return rule;
}

json without(std::string_view field) {
    json rule = valid_rule();
    rule.erase(std::string(field));
    return rule;
}

}  // namespace

TEST_CASE("rules: names of methods, protocols, matches and origins", "[unit][allowlist][rules]") {
    const std::vector<std::string> names = {"GET",    "POST",    "PUT",  "HEAD",
                                            "DELETE", "OPTIONS", "PATCH"};
    for (unsigned m = 0; m < kMethodCount; ++m) {
        CHECK(method_name(static_cast<Method>(m)) == names[m]);
        CHECK(parse_method(names[m]) == static_cast<Method>(m));
    }
    CHECK_FALSE(parse_method("get"));
    CHECK_FALSE(parse_method("CONNECT"));
    CHECK_FALSE(parse_method("TRACE"));
    CHECK_FALSE(parse_method(""));
    CHECK_FALSE(parse_method("GET "));
    CHECK(format_methods(0).empty());
    CHECK(format_methods(method_bit(Method::PATCH) | method_bit(Method::GET)) == "GET,PATCH");
    CHECK(format_methods(0x7F) == "GET,POST,PUT,HEAD,DELETE,OPTIONS,PATCH");
    CHECK(protocol_name(Protocol::https) == "https");
    CHECK(protocol_name(Protocol::wss) == "wss");
    CHECK(match_name(Match::prefix) == "prefix");
    CHECK(match_name(Match::exact) == "exact");
    CHECK(origin_name(Origin::automatic) == "auto");
    CHECK(origin_name(Origin::operator_rule) == "operator");
}

TEST_CASE("rules: describe gives one line for logs and the CLI", "[unit][allowlist][rules]") {
    CHECK(make_rule(12, "Reports API", Protocol::https, "localhost", 443, Match::prefix, "/api/",
                    kGetPost)
              .describe() ==
          R"(#12 https localhost:443 prefix /api/ GET,POST (operator: "Reports API"))");
    CHECK(make_rule(0, "Meeting Server web bridges", Protocol::wss, "join.example.com", 8443,
                    Match::exact, "/ws", method_bit(Method::GET), Origin::automatic)
              .describe() ==
          R"(wss join.example.com:8443 exact /ws GET (auto: "Meeting Server web bridges"))");
    CHECK(
        make_rule(4, "", Protocol::https, "[::1]", 443, Match::prefix, "/", kGetPost).describe() ==
        "#4 https [::1]:443 prefix / GET,POST (operator)");
    CHECK(
        make_rule(5, "say \"hi\"", Protocol::https, "a.example", 443, Match::prefix, "/", kGetPost)
            .describe() == R"(#5 https a.example:443 prefix / GET,POST (operator: "say \"hi\""))");
}

TEST_CASE("rules: a valid rule is read with its host and path normalised",
          "[unit][allowlist][rules]") {
    const Rule rule = rule_from_json(valid_rule(), "rule 1");
    CHECK(rule == make_rule(12, "Reports API", Protocol::https, "join.example.com", 443,
                            Match::prefix, "/api/", kGetPost));

    json messy = valid_rule();
    messy["host"] = "Join.Example.COM.";
    messy["path"] = "//api/./v1/../%7eusers/";
    messy["protocol"] = "wss";
    messy["match"] = "exact";
    messy["port"] = 8443;
    messy["methods"] = {"PATCH", "GET", "OPTIONS"};
    messy["origin"] = "auto";
    const Rule read = rule_from_json(messy, "rule 1");
    CHECK(read.host == "join.example.com");
    CHECK(read.path == "/api/~users/");
    CHECK(read.protocol == Protocol::wss);
    CHECK(read.match == Match::exact);
    CHECK(read.port == 8443);
    CHECK(read.methods ==
          (method_bit(Method::GET) | method_bit(Method::OPTIONS) | method_bit(Method::PATCH)));
    CHECK(read.origin == Origin::automatic);

    json bare = valid_rule();  // id, origin and description are optional
    bare.erase("id");
    bare.erase("origin");
    bare.erase("description");
    const Rule minimal = rule_from_json(bare, "rule 1");
    CHECK(minimal.id == 0);
    CHECK(minimal.origin == Origin::operator_rule);
    CHECK(minimal.description.empty());

    const Rule ipv6 = rule_from_json(with("host", "::1"), "rule 1");
    CHECK(ipv6.host == "[::1]");
}

TEST_CASE("rules: every invalid field is named in the error", "[unit][allowlist][rules]") {
    const std::string long_text(201, 'x');
    std::string accents;  // 200 characters, 400 bytes
    for (int i = 0; i < 200; ++i) accents += "\xc3\xa9";
    CHECK(rule_from_json(with("description", std::string(200, 'x')), "r").description.size() ==
          200);
    CHECK(rule_from_json(with("description", accents), "r").description == accents);

    const std::string description_expected =
        "rule 3: field \"description\": expected a string of at most 200 characters without "
        "control characters";
    const std::vector<std::pair<json, std::string>> cases = {
        {json::array(), "rule 3: expected a JSON object"},
        {json("rule"), "rule 3: expected a JSON object"},
        {with("colour", "red"), R"(rule 3: unknown field "colour")"},
        {with("Host", "x.example"), R"(rule 3: unknown field "Host")"},
        {without("protocol"), R"(rule 3: missing field "protocol")"},
        {without("host"), R"(rule 3: missing field "host")"},
        {without("port"), R"(rule 3: missing field "port")"},
        {without("match"), R"(rule 3: missing field "match")"},
        {without("path"), R"(rule 3: missing field "path")"},
        {without("methods"), R"(rule 3: missing field "methods")"},
        {with("id", -1), R"(rule 3: field "id": expected a non-negative integer)"},
        {with("id", "12"), R"(rule 3: field "id": expected a non-negative integer)"},
        {with("id", 1.5), R"(rule 3: field "id": expected a non-negative integer)"},
        {with("id", 18446744073709551615ull),
         R"(rule 3: field "id": expected a non-negative integer)"},
        {with("description", long_text), description_expected},
        {with("description", accents + "x"), description_expected},
        {with("description", "line\nbreak"), description_expected},
        {with("description", "tab\there"), description_expected},
        {with("description", "bell\x07"), description_expected},
        {with("description", "del\x7f"), description_expected},
        {with("description", "c1\xc2\x85"), description_expected},
        {with("description", 5), description_expected},
        {with("protocol", "http"), R"(rule 3: field "protocol": expected "https" or "wss")"},
        {with("protocol", "HTTPS"), R"(rule 3: field "protocol": expected "https" or "wss")"},
        {with("protocol", 1), R"(rule 3: field "protocol": expected "https" or "wss")"},
        {with("host", 5), R"(rule 3: field "host": expected a host name or IP address)"},
        {with("host", ""), R"(rule 3: field "host": empty host)"},
        {with("host", "a b"), R"(rule 3: field "host": invalid character in host 'a b')"},
        {with("host", "x.example.com:443"),
         R"(rule 3: field "host": the host has a port: use the port field)"},
        {with("host", "300.1.1.1"), R"(rule 3: field "host": invalid IPv4 address '300.1.1.1')"},
        {with("host", "[::g]"), R"(rule 3: field "host": invalid IPv6 address '[::g]')"},
        {with("port", 0), R"(rule 3: field "port": expected an integer from 1 to 65535)"},
        {with("port", 65536), R"(rule 3: field "port": expected an integer from 1 to 65535)"},
        {with("port", -443), R"(rule 3: field "port": expected an integer from 1 to 65535)"},
        {with("port", "443"), R"(rule 3: field "port": expected an integer from 1 to 65535)"},
        {with("port", 443.0), R"(rule 3: field "port": expected an integer from 1 to 65535)"},
        {with("port", true), R"(rule 3: field "port": expected an integer from 1 to 65535)"},
        {with("match", "regex"), R"(rule 3: field "match": expected "prefix" or "exact")"},
        {with("match", nullptr), R"(rule 3: field "match": expected "prefix" or "exact")"},
        {with("path", "api/"), R"(rule 3: field "path": a path must start with '/')"},
        {with("path", ""), R"(rule 3: field "path": a path must start with '/')"},
        {with("path", 7), R"(rule 3: field "path": expected a path starting with '/')"},
        {with("path", "/a%2fb"), R"(rule 3: field "path": encoded '/' in the path)"},
        {with("path", "/a/../.."), R"(rule 3: field "path": path climbs above the root)"},
        {with("path", "/a?x=1"), R"(rule 3: field "path": a rule path cannot have a query)"},
        {with("path", "/..;/x"),
         R"(rule 3: field "path": dot segment with a parameter in the path)"},
        {with("methods", json::array()),
         std::string("rule 3: field \"methods\": ") + kMethodsExpected},
        {with("methods", "GET"), std::string("rule 3: field \"methods\": ") + kMethodsExpected},
        {with("methods", {"get"}), std::string("rule 3: field \"methods\": ") + kMethodsExpected},
        {with("methods", {"CONNECT"}),
         std::string("rule 3: field \"methods\": ") + kMethodsExpected},
        {with("methods", {"GET", 1}),
         std::string("rule 3: field \"methods\": ") + kMethodsExpected},
        {with("methods", {"GET", "POST", "GET"}),
         R"(rule 3: field "methods": GET is listed twice)"},
        {with("origin", "manual"), R"(rule 3: field "origin": expected "auto" or "operator")"},
    };
    for (const auto& [value, message] : cases) {
        CAPTURE(value.dump());
        CHECK(rule_error(value) == message);
    }
    CHECK(rule_error(with("port", 0), "") ==
          R"(field "port": expected an integer from 1 to 65535)");
}

TEST_CASE("rules: JSON round trip of a rule", "[unit][allowlist][rules]") {
    const std::vector<Rule> rules = {
        make_rule(12, "Reports API", Protocol::https, "join.example.com", 443, Match::prefix,
                  "/api/", kGetPost),
        make_rule(0, "Meeting Server web bridges", Protocol::wss, "[2001:db8::1]", 8443,
                  Match::exact, "/ws", 0x7F, Origin::automatic),
        make_rule(3, "", Protocol::https, "10.0.0.1", 1, Match::prefix, "/caf%C3%A9/",
                  method_bit(Method::DELETE)),
        make_rule(4, "\xc3\xa9t\xc3\xa9 \"quoted\"", Protocol::https, "x.example", 65535,
                  Match::exact, "/", method_bit(Method::PATCH)),
    };
    for (const Rule& rule : rules) {
        const json value = rule_to_json(rule);
        CAPTURE(value.dump());
        CHECK(rule_from_json(value, "rule 1") == rule);
        CHECK(rule_from_json(json::parse(value.dump()), "rule 1") == rule);
    }
    const json value = rule_to_json(rules[0]);
    CHECK(value == valid_rule());
}

TEST_CASE("rules: the versioned rule set", "[unit][allowlist][rules]") {
    RuleSet set;
    set.version = 7;
    set.rules = {make_rule(0, "Meeting Server web bridges", Protocol::https, "join.example.com",
                           443, Match::prefix, "/", 0x1F, Origin::automatic),
                 make_rule(12, "Reports API", Protocol::https, "join.example.com", 443,
                           Match::prefix, "/api/", kGetPost)};
    const json value = rule_set_to_json(set);
    CHECK(value["version"] == 7);
    CHECK(value["rules"].size() == 2);
    const RuleSet back = rule_set_from_json(json::parse(value.dump()));
    CHECK(back.version == 7);
    CHECK(back.rules == set.rules);

    CHECK(rule_set_from_json(json::parse(R"({"version": 0, "rules": []})")).rules.empty());

    const auto error = [](const std::string& text) {
        return error_of([&] { rule_set_from_json(json::parse(text)); });
    };
    CHECK(error("[]") == R"(rule set: expected {"version": N, "rules": [...]})");
    CHECK(error(R"({"rules": []})") == R"(rule set: missing field "version")");
    CHECK(error(R"({"version": 1})") == R"(rule set: missing field "rules")");
    CHECK(error(R"({"version": -1, "rules": []})") ==
          R"(rule set: field "version": expected a non-negative integer)");
    CHECK(error(R"({"version": 1, "rules": {}})") ==
          R"(rule set: field "rules": expected a list of rules)");
    CHECK(error(R"({"version": 1, "rules": [], "extra": 1})") ==
          R"(rule set: unknown field "extra")");
    json bad = value;
    bad["rules"][1]["port"] = 0;
    CHECK(error(bad.dump()) ==
          R"(rule 2 ("Reports API"): field "port": expected an integer from 1 to 65535)");
    bad["rules"][1].erase("description");
    CHECK(error(bad.dump()) == R"(rule 2: field "port": expected an integer from 1 to 65535)");
}

TEST_CASE("rules: rule files for import and export", "[unit][allowlist][rules]") {
    const std::string file = R"({
  // Exported from the lab core.
  "rules": [
    {"description": "Reports API", "protocol": "https", "host": "Join.Example.com",
     "port": 443, "match": "prefix", "path": "/api/", "methods": ["GET", "POST"]},
    {"id": 99, "protocol": "wss", "host": "join.example.com", "port": 443, "match": "exact",
     "path": "/ws", "methods": ["GET"], "origin": "auto"}
  ]
})";
    const std::vector<Rule> rules = parse_rule_file(file);
    REQUIRE(rules.size() == 2);
    CHECK(rules[0] == make_rule(0, "Reports API", Protocol::https, "join.example.com", 443,
                                Match::prefix, "/api/", kGetPost));
    CHECK(rules[1].id == 0);                          // the store numbers imported rules
    CHECK(rules[1].origin == Origin::operator_rule);  // imported rules are operator rules
    CHECK(rules[1].path == "/ws");

    SECTION("a bare list is accepted") {
        const auto bare = parse_rule_file(json(rule_set_to_json({1, rules})["rules"]).dump());
        CHECK(bare == rules);
        CHECK(parse_rule_file("[]").empty());
        CHECK(parse_rule_file(R"({"rules": []})").empty());
    }
    SECTION("export writes pretty JSON without ids that reads back the same") {
        std::vector<Rule> numbered = rules;
        numbered[0].id = 5;
        const std::string text = format_rule_file(numbered);
        CHECK(text.find("\"id\"") == std::string::npos);
        CHECK(text.find("\n    {\n      \"description\": \"Reports API\",\n      \"protocol\"") !=
              std::string::npos);
        CHECK(text.back() == '\n');
        CHECK(parse_rule_file(text) == rules);
        CHECK(format_rule_file({}) == "{\n  \"rules\": []\n}\n");
    }
    SECTION("one bad entry refuses the file, naming the entry and the field") {
        json document = json::parse(file, nullptr, true, true);
        document["rules"][0]["methods"] = json::array();
        CHECK(error_of([&] { parse_rule_file(document.dump()); }) ==
              std::string("rule 1 (\"Reports API\"): field \"methods\": ") + kMethodsExpected);
        document["rules"][0]["methods"] = {"GET"};
        document["rules"][1]["mathc"] = "exact";
        CHECK(error_of([&] { parse_rule_file(document.dump()); }) ==
              R"(rule 2: unknown field "mathc")");
    }
    SECTION("duplicates are refused") {
        json document = json::parse(file, nullptr, true, true);
        json copy = document["rules"][0];
        copy["description"] = "again";
        copy["host"] = "join.example.com.";
        document["rules"].push_back(copy);
        CHECK(error_of([&] { parse_rule_file(document.dump()); }) ==
              R"(rule 3 ("again"): same as rule 1)");
    }
    SECTION("invalid JSON names the line") {
        const std::string broken = "{\n  \"rules\": [\n    {\"protocol\": \"https\",,}\n  ]\n}\n";
        const std::string message = error_of([&] { parse_rule_file(broken); });
        CHECK_THAT(message, Catch::StartsWith("rule file: invalid JSON at line 3, column 26: "));
        CHECK_THAT(message, Catch::Contains("syntax error"));
        CHECK_THAT(error_of([] { parse_rule_file(""); }),
                   Catch::StartsWith("rule file: invalid JSON at line 1"));
        CHECK_THAT(error_of([] { parse_rule_file("{\"rules\": [\"\xff\"]}"); }),
                   Catch::StartsWith("rule file: invalid JSON at line 1"));
        // nlohmann reports this one as out_of_range, not as a parse error (found by fuzzing).
        CHECK(error_of([] { parse_rule_file(R"({"rules": [1E666]})"); }) ==
              "rule file: invalid JSON: number overflow parsing '1E666'");
    }
    SECTION("the wrong shape is refused") {
        CHECK(error_of([] { parse_rule_file("42"); }) ==
              R"(rule file: expected {"rules": [...]} or a list of rules)");
        CHECK(error_of([] { parse_rule_file(R"({"rules": {}})"); }) ==
              R"(rule file: field "rules": expected a list of rules)");
        CHECK(error_of([] { parse_rule_file(R"({"version": 1, "rules": []})"); }) ==
              R"(rule file: unknown field "version")");
        CHECK(error_of([] { parse_rule_file(R"({})"); }) == R"(rule file: missing field "rules")");
        CHECK(error_of([] { parse_rule_file(R"([1])"); }) == "rule 1: expected a JSON object");
    }
}

TEST_CASE("automatic: join URLs", "[unit][allowlist][automatic]") {
    const JoinUri uri = parse_join_uri("https://Join.Example.com:8443/meeting");
    CHECK(uri.uri == "https://Join.Example.com:8443/meeting");
    CHECK(uri.host == "join.example.com");
    CHECK(uri.port == 8443);
    CHECK(parse_join_uri("https://join.example.com").port == 443);
    CHECK(parse_join_uri("HTTPS://join.example.com./?x#y").host == "join.example.com");
    CHECK(parse_join_uri("https://join.example.com:443/").port == 443);
    CHECK(parse_join_uri("https://[::1]:9443/").host == "[::1]");
    CHECK(parse_join_uri("https://[::1]:9443/").port == 9443);
    CHECK(parse_join_uri("https://10.0.0.5").host == "10.0.0.5");

    const auto error = [](std::string_view text) {
        return error_of([&] { parse_join_uri(text); });
    };
    CHECK(error("http://join.example.com/") ==
          "join URL 'http://join.example.com/': expected https://host[:port][/path]");
    CHECK(error("join.example.com") ==
          "join URL 'join.example.com': expected https://host[:port][/path]");
    CHECK(error("") == "join URL '': expected https://host[:port][/path]");
    CHECK(error("https://") == "join URL 'https://': missing host");
    CHECK(error("https:///meeting") == "join URL 'https:///meeting': missing host");
    CHECK(error("https://alice@join.example.com/") ==
          "join URL 'https://alice@join.example.com/': user information is not allowed");
    CHECK(error("https://join.example.com:0/") ==
          "join URL 'https://join.example.com:0/': invalid port '0': expected 1 to 65535");
    CHECK(error("https://join.example.com:99999") ==
          "join URL 'https://join.example.com:99999': invalid port '99999': expected 1 to 65535");
    CHECK(error("https://join.example.com:/") ==
          "join URL 'https://join.example.com:/': invalid port '': expected 1 to 65535");
    CHECK(error("https://join example.com/") ==
          "join URL 'https://join example.com/': invalid character in host 'join example.com'");
    CHECK(error("https://[::1/") == "join URL 'https://[::1/': invalid host '[::1'");
    CHECK(error("https://[::1]x/") == "join URL 'https://[::1]x/': invalid host '[::1]x'");
    CHECK(error("https://1.2.3.999/") ==
          "join URL 'https://1.2.3.999/': invalid IPv4 address '1.2.3.999'");
}

TEST_CASE("automatic: a pair of rules per resolved join host", "[unit][allowlist][automatic]") {
    const auto resolution = [](std::string_view uri, std::vector<ResolvedTarget> targets,
                               std::string error = "") {
        return Resolution{parse_join_uri(uri), std::move(targets), std::move(error)};
    };
    const std::vector<Resolution> resolutions = {
        resolution("https://b.example.com/", {{"b.example.com", "10.0.0.2"}}),
        resolution("https://gone.example.com/", {}),                // no such name
        resolution("https://flaky.example.com/", {}, "timed out"),  // transient failure
        resolution("https://a.example.com:8443/x", {{"a.example.com", "10.0.0.1:9443"}}),
        resolution("https://B.example.com./other", {{"b.example.com", "10.0.0.3"}}),  // same
        resolution("https://b.example.com:9443/", {{"b.example.com", "10.0.0.2"}}),
    };
    const std::vector<Rule> rules = automatic_rules(resolutions);
    const MethodSet methods = method_bit(Method::GET) | method_bit(Method::POST) |
                              method_bit(Method::PUT) | method_bit(Method::HEAD) |
                              method_bit(Method::DELETE);
    const auto rule = [&](Protocol protocol, std::string host, std::uint16_t port) {
        return make_rule(0, "Meeting Server web bridges", protocol, std::move(host), port,
                         Match::prefix, "/", methods, Origin::automatic);
    };
    const std::vector<Rule> expected = {
        rule(Protocol::https, "b.example.com", 443),  rule(Protocol::wss, "b.example.com", 443),
        rule(Protocol::https, "a.example.com", 8443), rule(Protocol::wss, "a.example.com", 8443),
        rule(Protocol::https, "b.example.com", 9443), rule(Protocol::wss, "b.example.com", 9443),
    };
    CHECK(rules == expected);
    CHECK(rules[0].describe() == R"(https b.example.com:443 prefix / GET,POST,PUT,HEAD,DELETE )"
                                 R"((auto: "Meeting Server web bridges"))");
    CHECK(automatic_rules({}).empty());
}
