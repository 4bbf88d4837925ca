// Automatic rules: what the join URLs of the web bridges let browsers reach, without an operator
// writing rules for them. Only a join URL that resolved gets rules, so a name removed from DNS
// stops being reachable through the edge.
#include "allowlist/allowlist.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <utility>

namespace edgeway::allowlist {
namespace {

constexpr std::string_view kScheme = "https://";
constexpr const char* kDescription = "Meeting Server web bridges";
constexpr MethodSet kMethods = method_bit(Method::GET) | method_bit(Method::POST) |
                               method_bit(Method::PUT) | method_bit(Method::HEAD) |
                               method_bit(Method::DELETE);

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
    return text.size() >= prefix.size() &&
           std::equal(prefix.begin(), prefix.end(), text.begin(), [](char p, char t) {
               return p == (t >= 'A' && t <= 'Z' ? static_cast<char>(t | 0x20) : t);
           });
}

// Digits only, 1..65535.
std::optional<std::uint16_t> parse_port(std::string_view text) {
    if (text.empty() || text.size() > 5) return std::nullopt;
    unsigned value = 0;
    for (const char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(value);
}

// Splits "host[:port]" where host may be a bracketed IPv6 literal; nullopt when malformed.
std::optional<std::pair<std::string_view, std::string_view>> split_authority(
    std::string_view authority) {
    std::size_t host_end = std::min(authority.find(':'), authority.size());
    if (!authority.empty() && authority.front() == '[') {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        host_end = close + 1;
    }
    if (host_end == authority.size()) return std::pair{authority, std::string_view()};
    if (authority[host_end] != ':') return std::nullopt;
    return std::pair{authority.substr(0, host_end), authority.substr(host_end + 1)};
}

Rule automatic_rule(Protocol protocol, const JoinUri& uri) {
    Rule rule;
    rule.id = 0;
    rule.description = kDescription;
    rule.protocol = protocol;
    rule.host = uri.host;
    rule.port = uri.port;
    rule.match = Match::prefix;
    rule.path = "/";
    rule.methods = kMethods;
    rule.origin = Origin::automatic;
    return rule;
}

}  // namespace

JoinUri parse_join_uri(std::string_view uri) {
    const auto fail = [&](std::string_view what) {
        return RuleError(fmt::format("join URL '{}': {}", uri, what));
    };
    if (!starts_with_nocase(uri, kScheme)) throw fail("expected https://host[:port][/path]");
    const std::string_view rest = uri.substr(kScheme.size());
    const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
    if (authority.empty()) throw fail("missing host");
    if (authority.find('@') != std::string_view::npos)
        throw fail("user information is not allowed");
    const auto parts = split_authority(authority);
    if (!parts) throw fail(fmt::format("invalid host '{}'", authority));
    JoinUri result;
    result.uri = std::string(uri);
    if (!parts->second.empty() || authority.back() == ':') {
        const auto port = parse_port(parts->second);
        if (!port) throw fail(fmt::format("invalid port '{}': expected 1 to 65535", parts->second));
        result.port = *port;
    }
    try {
        result.host = normalize_rule_host(parts->first);
    } catch (const RuleError& e) {
        throw fail(e.what());
    }
    return result;
}

std::vector<Rule> automatic_rules(const std::vector<Resolution>& resolutions) {
    std::vector<Rule> rules;
    std::set<std::pair<std::string, std::uint16_t>> seen;
    for (const Resolution& resolution : resolutions) {
        if (resolution.targets.empty()) continue;  // the name does not exist (or never resolved)
        if (!seen.emplace(resolution.uri.host, resolution.uri.port).second) continue;
        rules.push_back(automatic_rule(Protocol::https, resolution.uri));
        rules.push_back(automatic_rule(Protocol::wss, resolution.uri));
    }
    return rules;
}

std::string target_endpoint(const ResolvedTarget& target, std::uint16_t port) {
    const std::string& address = target.address;
    const auto colon = address.rfind(':');
    const bool bracketed = !address.empty() && address.front() == '[';
    const bool has_port =
        colon != std::string::npos &&
        (bracketed ? address.compare(colon - 1, 1, "]") == 0 : address.find(':') == colon);
    if (has_port) return address;
    if (bracketed || colon == std::string::npos) return fmt::format("{}:{}", address, port);
    return fmt::format("[{}]:{}", address, port);  // a bare IPv6 literal
}

}  // namespace edgeway::allowlist
