// libFuzzer target for the allow list's pure code: the normaliser, the matcher, the rule JSON
// readers and the join URL parser. Besides "never crashes, never throws anything but RuleError",
// it checks properties that keep the edge and the core in agreement: a normalised request
// normalises to itself, its path is a valid rule path, refusal reasons are safe to log, and the
// matcher agrees with a brute-force reading of the rules.
//
// Input: "method\ntarget\nhost\nsni\nflags" (flags: 'w' WebSocket, 's' check SNI); the whole
// input is also read as a rule, a rule set and a rule file.
#include "allowlist/allowlist.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

using namespace edgeway::allowlist;

namespace {

[[noreturn]] void fail(const char* what, std::string_view detail) {
    std::fprintf(stderr, "invariant broken: %s: %.*s\n", what, static_cast<int>(detail.size()),
                 detail.data());
    std::abort();
}

void expect(bool ok, const char* what, std::string_view detail = {}) {
    if (!ok) fail(what, detail);
}

Rule rule(Protocol protocol, std::string host, std::uint16_t port, Match match, std::string path,
          MethodSet methods, std::int64_t id) {
    Rule r;
    r.id = id;
    r.protocol = protocol;
    r.host = std::move(host);
    r.port = port;
    r.match = match;
    r.path = std::move(path);
    r.methods = methods;
    return r;
}

// A small fixed rule set with nested prefixes, exact paths and several groups.
const CompiledRules& fixed_rules() {
    constexpr MethodSet kRead = method_bit(Method::GET) | method_bit(Method::HEAD);
    constexpr MethodSet kWrite = method_bit(Method::POST) | method_bit(Method::PUT);
    static const CompiledRules rules(RuleSet{
        1,
        {
            rule(Protocol::https, "join.example.com", 443, Match::prefix, "/", kRead, 1),
            rule(Protocol::https, "join.example.com", 443, Match::prefix, "/api/", kWrite, 2),
            rule(Protocol::https, "join.example.com", 443, Match::prefix, "/api/v1/admin/",
                 method_bit(Method::DELETE), 3),
            rule(Protocol::https, "join.example.com", 443, Match::exact, "/health",
                 method_bit(Method::OPTIONS), 4),
            rule(Protocol::https, "join.example.com", 443, Match::prefix, "/ab", kWrite, 5),
            rule(Protocol::wss, "join.example.com", 443, Match::prefix, "/ws/",
                 method_bit(Method::GET), 6),
            rule(Protocol::https, "join.example.com", 8443, Match::prefix, "/a",
                 method_bit(Method::PATCH), 7),
            rule(Protocol::https, "[::1]", 443, Match::exact, "/", kRead, 8),
            rule(Protocol::https, "10.0.0.1", 443, Match::prefix, "/%C3%A9/", kRead, 9),
        },
    });
    return rules;
}

bool path_matches(const Rule& r, std::string_view path) {
    return r.match == Match::exact ? path == r.path : path.starts_with(r.path);
}

// What the matcher must say, worked out the slow way.
void check_against_reference(const NormalizedRequest& request) {
    const CompiledRules& rules = fixed_rules();
    const MethodSet bit = method_bit(request.method);
    bool allowed = false;
    for (const Rule& r : rules.rule_set().rules)
        allowed |= r.protocol == request.protocol && r.host == request.host &&
                   r.port == request.port && path_matches(r, request.path) && (r.methods & bit);
    const Decision decision = rules.check(request);
    expect(decision.allowed == allowed, "matcher disagrees with the reference", request.path);
    if (decision.allowed) {
        expect(decision.rule && path_matches(*decision.rule, request.path) &&
                   (decision.rule->methods & bit),
               "allowed by a rule that does not allow it", request.path);
    } else {
        expect(!decision.reason.empty(), "refused without a reason", request.path);
    }
}

// A normalised path has no "//", no dot segment, and begins with '/'.
void check_canonical_path(std::string_view path) {
    expect(!path.empty() && path.front() == '/', "path does not start with '/'", path);
    expect(path.find("//") == std::string_view::npos, "path keeps '//'", path);
    expect(path.find("/./") == std::string_view::npos && !path.ends_with("/."),
           "path keeps a '.' segment", path);
    expect(path.find("/../") == std::string_view::npos && !path.ends_with("/.."),
           "path keeps a '..' segment", path);
    for (const char c : path) {
        const auto byte = static_cast<unsigned char>(c);
        expect(byte > 0x20 && byte < 0x7F && c != '\\', "path has an unsafe byte", path);
    }
}

// Normalising the result again, in origin-form and in absolute-form, changes nothing.
void check_idempotent(const NormalizedRequest& first, std::string_view method, bool websocket) {
    const std::string target = first.target();
    const std::string authority = first.authority();
    const std::string absolute = "https://" + authority + target;
    for (const std::string_view t : {std::string_view(target), std::string_view(absolute)}) {
        RequestHead head;
        head.method = method;
        head.target = t;
        head.host = authority;
        head.websocket = websocket;
        const Normalized again = normalize(head);
        const auto* second = std::get_if<NormalizedRequest>(&again);
        expect(second != nullptr, "normalised request refused on a second pass", t);
        expect(second->path == first.path && second->query == first.query &&
                   second->host == first.host && second->port == first.port &&
                   second->method == first.method && second->protocol == first.protocol,
               "normalisation is not idempotent", t);
    }
    expect(normalize_rule_path(first.path) == first.path, "path is not a rule path", first.path);
    expect(normalize_rule_host(first.host) == first.host, "host is not a rule host", first.host);
}

void check_refusal(const Refusal& refusal) {
    expect(refusal.status == 400 || refusal.status == 405 || refusal.status == 421,
           "unexpected status", refusal.reason);
    expect(!refusal.reason.empty(), "empty reason");
    for (const char c : refusal.reason) {
        const auto byte = static_cast<unsigned char>(c);
        expect(byte >= 0x20 && byte < 0x7F, "reason is not safe to log", refusal.reason);
    }
}

std::vector<std::string_view> split_lines(std::string_view text, std::size_t count) {
    std::vector<std::string_view> fields;
    while (fields.size() + 1 < count) {
        const std::size_t newline = text.find('\n');
        if (newline == std::string_view::npos) break;
        fields.push_back(text.substr(0, newline));
        text.remove_prefix(newline + 1);
    }
    fields.push_back(text);
    fields.resize(count);
    return fields;
}

void fuzz_request(std::string_view text) {
    const auto fields = split_lines(text, 5);
    RequestHead head;
    head.method = fields[0];
    head.target = fields[1];
    head.host = fields[2];
    head.sni = fields[3];
    head.websocket = fields[4].find('w') != std::string_view::npos;
    head.check_sni = fields[4].find('s') != std::string_view::npos;
    const Normalized result = normalize(head);
    if (const auto* refusal = std::get_if<Refusal>(&result)) return check_refusal(*refusal);
    const auto& request = std::get<NormalizedRequest>(result);
    check_canonical_path(request.path);
    expect(request.query.empty() || request.query.front() == '?', "query without '?'");
    check_idempotent(request, head.method, head.websocket);
    check_against_reference(request);
}

// Rule-side parsers: only RuleError may escape, and what they accept reads back the same.
void fuzz_rules(std::string_view text) {
    const auto fields = split_lines(text, 5);
    try {
        const std::string path = normalize_rule_path(fields[1]);
        expect(normalize_rule_path(path) == path, "rule path is not idempotent", path);
    } catch (const RuleError&) {
    }
    try {
        const std::string host = normalize_rule_host(fields[2]);
        expect(normalize_rule_host(host) == host, "rule host is not idempotent", host);
    } catch (const RuleError&) {
    }
    try {
        const JoinUri uri = parse_join_uri(fields[1]);
        expect(normalize_rule_host(uri.host) == uri.host, "join host is not normalised", uri.host);
    } catch (const RuleError&) {
    }
    const nlohmann::json value = nlohmann::json::parse(text, nullptr, false, true);
    if (!value.is_discarded()) {
        try {
            const Rule r = rule_from_json(value, "rule 1");
            expect(rule_from_json(rule_to_json(r), "rule 1") == r, "rule JSON round trip");
            expect(!r.describe().empty(), "empty description line");
        } catch (const RuleError&) {
        }
        try {
            const RuleSet set = rule_set_from_json(value);
            expect(rule_set_from_json(rule_set_to_json(set)).rules == set.rules,
                   "rule set JSON round trip");
            const CompiledRules compiled(set);  // any valid set compiles
        } catch (const RuleError&) {
        }
    }
    try {
        const std::vector<Rule> rules = parse_rule_file(text);
        expect(parse_rule_file(format_rule_file(rules)) == rules, "rule file round trip");
    } catch (const RuleError&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    fuzz_request(text);
    fuzz_rules(text);
    return 0;
}
