// Unit tests for the request normaliser: canonical paths, the traversal and encoding tricks that
// must be refused, hosts and ports, request-target forms, SNI against Host, and the rule-path
// and rule-host normalisers that share the same rules.
#include "allowlist/allowlist.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace edgeway::allowlist;

namespace {

RequestHead head(std::string_view target, std::string_view host = "join.example.com",
                 std::string_view method = "GET") {
    RequestHead h;
    h.method = method;
    h.target = target;
    h.host = host;
    return h;
}

const NormalizedRequest* accepted(const Normalized& result) {
    return std::get_if<NormalizedRequest>(&result);
}

// The refusal, or a 0 status when the request was accepted (so CHECKs print something useful).
Refusal refusal(const Normalized& result) {
    if (const auto* r = std::get_if<Refusal>(&result)) return *r;
    return Refusal{0, "accepted as " + std::get<NormalizedRequest>(result).target()};
}

std::string rule_path_error(std::string_view path) {
    try {
        return "accepted as " + normalize_rule_path(path);
    } catch (const RuleError& e) {
        return e.what();
    }
}

std::string rule_host_error(std::string_view host) {
    try {
        return "accepted as " + normalize_rule_host(host);
    } catch (const RuleError& e) {
        return e.what();
    }
}

// n copies of c, then suffix (built in steps: GCC 12 warns falsely on string(n, c) + "...").
std::string repeated(char c, std::size_t n, std::string_view suffix) {
    std::string text(n, c);
    text.append(suffix);
    return text;
}

struct PathCase {
    std::string target;
    std::string path;
    std::string query;
};

// Targets that are safe, with the form the matcher sees.
const std::vector<PathCase> kCanonical = {
    {"/", "/", ""},
    {"/a/b", "/a/b", ""},
    {"/a/b/", "/a/b/", ""},
    {"//a///b//", "/a/b/", ""},
    {"//", "/", ""},
    {"/a/./b", "/a/b", ""},
    {"/./a", "/a", ""},
    {"/a/../b", "/b", ""},
    {"/a/b/..", "/a/", ""},
    {"/a/b/.", "/a/b/", ""},
    {"/.", "/", ""},
    {"/a/..", "/", ""},
    {"/a/b/../../c", "/c", ""},
    {"/a/./../b/./c/.", "/b/c/", ""},
    {"/a/.//b", "/a/b", ""},
    {"/a//../b", "/b", ""},
    {"/%7Euser", "/~user", ""},
    {"/%7euser", "/~user", ""},
    {"/%41%42c", "/ABc", ""},
    {"/a%2db%5f%2E", "/a-b_.", ""},
    {"/a%2Eb", "/a.b", ""},
    {"/%2e%2e%2e", "/...", ""},
    {"/a/.../b", "/a/.../b", ""},
    {"/a/..b/c", "/a/..b/c", ""},
    {"/a/b../c", "/a/b../c", ""},
    {"/.well-known/acme", "/.well-known/acme", ""},
    {"/caf%c3%a9", "/caf%C3%A9", ""},
    {"/%e2%82%ac", "/%E2%82%AC", ""},
    {"/%f0%9f%98%80/x", "/%F0%9F%98%80/x", ""},
    {"/%F4%8F%BF%BF", "/%F4%8F%BF%BF", ""},
    {"/a%20b", "/a%20b", ""},
    {"/a%3bb", "/a%3Bb", ""},
    {"/a%3fb%23", "/a%3Fb%23", ""},
    {"/a%25", "/a%25", ""},
    {"/a;b=c/d", "/a;b=c/d", ""},
    {"/a:b@c!$&'()*+,=", "/a:b@c!$&'()*+,=", ""},
    // What browsers leave unencoded in a path passes as it is.
    {"/a^b|c[d]", "/a^b|c[d]", ""},
    {"/a?", "/a", "?"},
    {"/a?x=1&y=2", "/a", "?x=1&y=2"},
    {"/a?x=%2f..%5c%2e%2E", "/a", "?x=%2f..%5c%2e%2E"},
    {"/a?x=/../..", "/a", "?x=/../.."},
    {"/a?q=%0a%7F|^{}\"<>\\", "/a", "?q=%0a%7F|^{}\"<>\\"},
    {"/a/..?q", "/", "?q"},
    {"/?", "/", "?"},
    {"/a??b", "/a", "??b"},
};

struct RefusedCase {
    std::string target;
    std::string reason;  // the whole reason
};

// Unsafe or malformed paths and queries: each refused with 400 and this reason.
const std::vector<RefusedCase> kRefused = {
    // Encoded separators: a back end that decodes before splitting would see other segments.
    {"/a%2Fb", "encoded '/' in the path"},
    {"/a%2fb", "encoded '/' in the path"},
    {"/a/..%2f..%2fetc", "encoded '/' in the path"},
    {"/a%5Cb", "encoded '\\' in the path"},
    {"/a%5cb", "encoded '\\' in the path"},
    {"/a\\b", "backslash in the path"},
    {"/a\\..\\b", "backslash in the path"},
    // Control characters, raw or encoded.
    {"/a%00", "encoded control character in the path"},
    {"/a%00.html", "encoded control character in the path"},
    {"/a%0a", "encoded control character in the path"},
    {"/a%0D%0Ab", "encoded control character in the path"},
    {"/a%1F", "encoded control character in the path"},
    {"/a%7f", "encoded control character in the path"},
    {"/a b", "space or control character in the path"},
    {std::string("/a\0b", 4), "space or control character in the path"},
    {"/a\tb", "space or control character in the path"},
    {"/a\rb", "space or control character in the path"},
    {"/a\x7f", "space or control character in the path"},
    {"/caf\xc3\xa9", "non-ASCII byte in the path"},
    {"/\xff", "non-ASCII byte in the path"},
    // Broken escapes.
    {"/a%", "invalid percent-escape in the path"},
    {"/a%2", "invalid percent-escape in the path"},
    {"/a%2/b", "invalid percent-escape in the path"},
    {"/a%zz", "invalid percent-escape in the path"},
    {"/a%g1", "invalid percent-escape in the path"},
    {"/a%%41", "invalid percent-escape in the path"},
    {"/a%u002e", "invalid percent-escape in the path"},
    // Dot segments in disguise.
    {"/%2e%2e/etc/passwd", "percent-encoded dot segment in the path"},
    {"/a/%2e%2e", "percent-encoded dot segment in the path"},
    {"/a/%2E%2E/b", "percent-encoded dot segment in the path"},
    {"/a/.%2e/b", "percent-encoded dot segment in the path"},
    {"/a/%2e./b", "percent-encoded dot segment in the path"},
    {"/a/%2e/b", "percent-encoded dot segment in the path"},
    {"/a/%2E", "percent-encoded dot segment in the path"},
    {"/..;/admin", "dot segment with a parameter in the path"},
    {"/a/..;/b", "dot segment with a parameter in the path"},
    {"/a/..;jsessionid=1/b", "dot segment with a parameter in the path"},
    {"/a/.;/b", "dot segment with a parameter in the path"},
    {"/a/.;x", "dot segment with a parameter in the path"},
    {"/a/%2e%2e;/b", "dot segment with a parameter in the path"},
    {"/a/..%3b/b", "dot segment with a parameter in the path"},
    {"/a/.%3B", "dot segment with a parameter in the path"},
    // Climbing above the root.
    {"/..", "path climbs above the root"},
    {"/../a", "path climbs above the root"},
    {"/a/../..", "path climbs above the root"},
    {"/a/b/../../../c", "path climbs above the root"},
    {"//..//a", "path climbs above the root"},
    {"/./..", "path climbs above the root"},
    // Escapes that are not UTF-8 once decoded.
    {"/%c3", "percent-escapes that are not UTF-8 in the path"},
    {"/%c3%28", "percent-escapes that are not UTF-8 in the path"},
    {"/%c3a", "percent-escapes that are not UTF-8 in the path"},
    {"/%c3/%a9", "percent-escapes that are not UTF-8 in the path"},
    {"/%a9", "percent-escapes that are not UTF-8 in the path"},
    {"/%e2%82", "percent-escapes that are not UTF-8 in the path"},
    {"/%e2%82/", "percent-escapes that are not UTF-8 in the path"},
    {"/%c0%af", "percent-escapes that are not UTF-8 in the path"},        // overlong '/'
    {"/%c1%9c", "percent-escapes that are not UTF-8 in the path"},        // overlong '\'
    {"/%e0%80%af", "percent-escapes that are not UTF-8 in the path"},     // overlong '/'
    {"/%f0%80%80%af", "percent-escapes that are not UTF-8 in the path"},  // overlong '/'
    {"/%ed%a0%80", "percent-escapes that are not UTF-8 in the path"},     // surrogate
    {"/%f4%90%80%80", "percent-escapes that are not UTF-8 in the path"},  // above U+10FFFF
    {"/%f8%88%80%80%af", "percent-escapes that are not UTF-8 in the path"},
    {"/%ff", "percent-escapes that are not UTF-8 in the path"},
    {"/%fe%ff", "percent-escapes that are not UTF-8 in the path"},
    // Characters outside pchar that browsers always encode.
    {"/a\"b", "character '\"' in the path"},
    {"/a<b", "character '<' in the path"},
    {"/a>b", "character '>' in the path"},
    {"/a`b", "character '`' in the path"},
    {"/a{b", "character '{' in the path"},
    {"/a}b", "character '}' in the path"},
    // Fragments never reach a server legitimately.
    {"/a#b", "fragment in the request target"},
    {"/a?b#c", "fragment in the request target"},
    {"#", "fragment in the request target"},
    // The query is forwarded as is, but only when it is clean.
    {"/a?b c", "space or control character in the query"},
    {"/a?b\x01", "space or control character in the query"},
    {"/a?b\x7f", "space or control character in the query"},
    {"/a?\xc3\xa9", "non-ASCII byte in the query"},
    {"/a?x=%", "invalid percent-escape in the query"},
    {"/a?x=%4", "invalid percent-escape in the query"},
    {"/a?x=%zz", "invalid percent-escape in the query"},
    {"/a?x=%00", "encoded NUL in the query"},
};

}  // namespace

TEST_CASE("normalize: the seven methods pass, anything else is 405",
          "[unit][allowlist][normalize]") {
    for (const char* method : {"GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "PATCH"}) {
        const auto result = normalize(head("/", "join.example.com", method));
        REQUIRE(accepted(result));
        CHECK(method_name(accepted(result)->method) == method);
    }
    const std::vector<std::pair<std::string, std::string>> refused = {
        {"CONNECT", "method 'CONNECT' is not allowed"},
        {"TRACE", "method 'TRACE' is not allowed"},
        {"get", "method 'get' is not allowed"},
        {"Get", "method 'Get' is not allowed"},
        {"PROPFIND", "method 'PROPFIND' is not allowed"},
        {"", "method '' is not allowed"},
        {"GET ", "method 'GET ' is not allowed"},
        {"GET\r\nX", "method 'GET\\x0d\\x0aX' is not allowed"},
    };
    for (const auto& [method, reason] : refused) {
        CAPTURE(method);
        const Refusal r = refusal(normalize(head("/", "join.example.com", method)));
        CHECK(r.status == 405);
        CHECK(r.reason == reason);
    }
}

TEST_CASE("normalize: the method is checked before anything else", "[unit][allowlist][normalize]") {
    CHECK(refusal(normalize(head("/%2f", "", "TRACE"))).status == 405);
    CHECK(refusal(normalize(head("/%2f", "bad host", "get"))).status == 405);
}

TEST_CASE("normalize: paths take one canonical form", "[unit][allowlist][normalize]") {
    for (const auto& c : kCanonical) {
        CAPTURE(c.target);
        const auto result = normalize(head(c.target));
        const auto* request = accepted(result);
        REQUIRE(request);
        CHECK(request->path == c.path);
        CHECK(request->query == c.query);
        CHECK(request->target() == c.path + c.query);
    }
}

TEST_CASE("normalize: traversal and encoding tricks are refused with 400",
          "[unit][allowlist][normalize]") {
    for (const auto& c : kRefused) {
        CAPTURE(c.target);
        const Refusal r = refusal(normalize(head(c.target)));
        CHECK(r.status == 400);
        CHECK(r.reason == c.reason);
    }
}

TEST_CASE("normalize: normalising a normalised request changes nothing",
          "[unit][allowlist][normalize]") {
    for (const auto& c : kCanonical) {
        CAPTURE(c.target);
        const auto first = normalize(head(c.target, "Join.Example.COM.:8443", "POST"));
        REQUIRE(accepted(first));
        const std::string target = accepted(first)->target();
        const std::string authority = accepted(first)->authority();
        const auto again = normalize(head(target, authority, "POST"));
        REQUIRE(accepted(again));
        CHECK(accepted(again)->path == accepted(first)->path);
        CHECK(accepted(again)->query == accepted(first)->query);
        CHECK(accepted(again)->host == "join.example.com");
        CHECK(accepted(again)->port == 8443);
        CHECK(normalize_rule_path(accepted(first)->path) == accepted(first)->path);
    }
}

TEST_CASE("normalize: request-target forms", "[unit][allowlist][normalize]") {
    struct Case {
        std::string target;
        std::string path;  // empty: refused with `reason`
        std::string query;
        std::string reason;
    };
    const std::vector<Case> cases = {
        {"https://join.example.com/a/b", "/a/b", "", ""},
        {"HTTPS://join.example.com/a", "/a", "", ""},
        {"https://JOIN.example.com.:443/a/../b?x", "/b", "?x", ""},
        {"https://join.example.com", "/", "", ""},
        {"https://join.example.com?x=1", "/", "?x=1", ""},
        {"https://join.example.com//a", "/a", "", ""},
        {"", "", "", "empty request target"},
        {"*", "", "", "asterisk-form request target"},
        {"join.example.com:443", "", "", "request target is neither origin-form nor absolute-form"},
        {"a/b", "", "", "request target is neither origin-form nor absolute-form"},
        {"1http://x/", "", "", "request target is neither origin-form nor absolute-form"},
        {"http://join.example.com/", "", "", "scheme 'http' is not allowed"},
        {"ws://join.example.com/", "", "", "scheme 'ws' is not allowed"},
        {"ftp://join.example.com/", "", "", "scheme 'ftp' is not allowed"},
        {"https://other.example.com/", "", "",
         "request target authority 'other.example.com' does not match Host 'join.example.com'"},
        {"https://join.example.com:8443/", "", "",
         "request target authority 'join.example.com:8443' does not match Host "
         "'join.example.com'"},
        {"https://user@join.example.com/", "", "",
         "request target authority: user information in the host"},
        {"https:///a", "", "", "request target authority: empty host"},
        {"https://join.example.com/a%2fb", "", "", "encoded '/' in the path"},
        {"https://join.example.com/a#x", "", "", "fragment in the request target"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.target);
        const auto result = normalize(head(c.target));
        if (c.path.empty()) {
            const Refusal r = refusal(result);
            CHECK(r.status == 400);
            CHECK(r.reason == c.reason);
        } else {
            REQUIRE(accepted(result));
            CHECK(accepted(result)->path == c.path);
            CHECK(accepted(result)->query == c.query);
        }
    }
}

TEST_CASE("normalize: hosts and ports", "[unit][allowlist][normalize]") {
    struct Case {
        std::string host;
        std::string normalised;
        std::uint16_t port;
        std::string authority;
    };
    const std::string label63(63, 'a');
    const std::string long_name =
        label63 + "." + label63 + "." + label63 + "." + std::string(61, 'b');
    const std::vector<Case> cases = {
        {"join.example.com", "join.example.com", 443, "join.example.com"},
        {"Join.Example.COM", "join.example.com", 443, "join.example.com"},
        {"join.example.com.", "join.example.com", 443, "join.example.com"},
        {"join.example.com:443", "join.example.com", 443, "join.example.com"},
        {"join.example.com:0443", "join.example.com", 443, "join.example.com"},
        {"join.example.com:8443", "join.example.com", 8443, "join.example.com:8443"},
        {"JOIN.example.com.:8443", "join.example.com", 8443, "join.example.com:8443"},
        {"join.example.com:1", "join.example.com", 1, "join.example.com:1"},
        {"join.example.com:65535", "join.example.com", 65535, "join.example.com:65535"},
        {"localhost", "localhost", 443, "localhost"},
        {"my_bridge-1.example", "my_bridge-1.example", 443, "my_bridge-1.example"},
        {"10.0.0.1", "10.0.0.1", 443, "10.0.0.1"},
        {"10.0.0.1:8443", "10.0.0.1", 8443, "10.0.0.1:8443"},
        {"0.0.0.0", "0.0.0.0", 443, "0.0.0.0"},
        {"255.255.255.255", "255.255.255.255", 443, "255.255.255.255"},
        {"[::1]", "[::1]", 443, "[::1]"},
        {"[::1]:8443", "[::1]", 8443, "[::1]:8443"},
        {"[0:0:0:0:0:0:0:1]", "[::1]", 443, "[::1]"},
        {"[2001:DB8:0::1]", "[2001:db8::1]", 443, "[2001:db8::1]"},
        {"[::ffff:10.0.0.1]", "[::ffff:10.0.0.1]", 443, "[::ffff:10.0.0.1]"},
        {label63 + ".example", label63 + ".example", 443, label63 + ".example"},
        {long_name, long_name, 443, long_name},
        {long_name + ".", long_name, 443, long_name},
        {"a1.example", "a1.example", 443, "a1.example"},
        {"oxygen.0xygen", "oxygen.0xygen", 443, "oxygen.0xygen"},  // not a hex number
    };
    for (const auto& c : cases) {
        CAPTURE(c.host);
        const auto result = normalize(head("/", c.host));
        REQUIRE(accepted(result));
        CHECK(accepted(result)->host == c.normalised);
        CHECK(accepted(result)->port == c.port);
        CHECK(accepted(result)->authority() == c.authority);
    }
}

TEST_CASE("normalize: bad hosts are refused with 400", "[unit][allowlist][normalize]") {
    const std::vector<RefusedCase> cases = {
        {"", "missing Host"},
        {"user@join.example.com", "user information in the host"},
        {"user:pw@join.example.com", "user information in the host"},
        {"join.example.com:", "invalid port in host 'join.example.com:'"},
        {"join.example.com:0", "invalid port in host 'join.example.com:0'"},
        {"join.example.com:65536", "invalid port in host 'join.example.com:65536'"},
        {"join.example.com:+443", "invalid port in host 'join.example.com:+443'"},
        {"join.example.com:44a", "invalid port in host 'join.example.com:44a'"},
        {"join.example.com:443:443", "invalid port in host 'join.example.com:443:443'"},
        {"join.example.com:000443", "invalid port in host 'join.example.com:000443'"},
        {":443", "empty host"},
        {".", "empty host"},
        {"join..example.com", "empty label in host 'join..example.com'"},
        {".join.example.com", "empty label in host '.join.example.com'"},
        {"join.example.com..", "empty label in host 'join.example.com.'"},
        {"join example.com", "invalid character in host 'join example.com'"},
        {"join.example.com/evil", "invalid character in host 'join.example.com/evil'"},
        {"join.exa\\mple.com", "invalid character in host 'join.exa\\x5cmple.com'"},
        {std::string("join\0.example.com", 17),
         "invalid character in host 'join\\x00.example.com'"},
        {"j\xc3\xb6in.example.com", "invalid character in host 'j\\xc3\\xb6in.example.com'"},
        {"join*.example.com", "invalid character in host 'join*.example.com'"},
        {repeated('a', 64, ".example"), "host label longer than 63 characters"},
        {repeated('a', 250, ".com"), "host name longer than 253 characters"},
        {"999.1.1.1", "invalid IPv4 address '999.1.1.1'"},
        {"1.2.3", "invalid IPv4 address '1.2.3'"},
        {"127.1", "invalid IPv4 address '127.1'"},
        {"2130706433", "invalid IPv4 address '2130706433'"},
        {"0x7f.0.0.1", "invalid IPv4 address '0x7f.0.0.1'"},
        {"127.0.0.0x1", "invalid IPv4 address '127.0.0.0x1'"},
        {"example.0x", "invalid IPv4 address 'example.0x'"},
        {"example.0X1F", "invalid IPv4 address 'example.0x1f'"},
        {"010.0.0.1", "invalid IPv4 address '010.0.0.1'"},
        {"1.2.3.4.5", "invalid IPv4 address '1.2.3.4.5'"},
        {"example.123", "invalid IPv4 address 'example.123'"},
        {"[::1", "invalid IPv6 address '[::1'"},
        {"[::1]x", "invalid host '[::1]x'"},
        {"[::1]:", "invalid port in host '[::1]:'"},
        {"[fe80::1%eth0]", "invalid IPv6 address '[fe80::1%eth0]'"},
        {"[1.2.3.4]", "invalid IPv6 address '[1.2.3.4]'"},
        {"[v1.x]", "invalid IPv6 address '[v1.x]'"},
        {"[]", "invalid IPv6 address '[]'"},
        {"::1", "invalid port in host '::1'"},
        {"2001:db8::1", "invalid port in host '2001:db8::1'"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.target);
        const Refusal r = refusal(normalize(head("/", c.target)));
        CHECK(r.status == 400);
        CHECK(r.reason == c.reason);
    }
}

TEST_CASE("normalize: the TLS server name must name the Host", "[unit][allowlist][normalize]") {
    struct Case {
        std::string host;
        std::string sni;
        unsigned status;  // 0: accepted
        std::string reason;
    };
    const std::vector<Case> cases = {
        {"join.example.com", "join.example.com", 0, ""},
        {"join.example.com", "JOIN.Example.com.", 0, ""},
        {"Join.Example.com.:8443", "join.example.com", 0, ""},
        {"10.0.0.1", "", 0, ""},
        {"10.0.0.1:8443", "", 0, ""},
        {"[::1]:8443", "", 0, ""},
        {"join.example.com", "other.example.com", 421,
         "TLS server name 'other.example.com' does not match Host 'join.example.com'"},
        {"join.example.com", "join.example.com.evil", 421,
         "TLS server name 'join.example.com.evil' does not match Host 'join.example.com'"},
        {"join.example.com", "join.example.co", 421,
         "TLS server name 'join.example.co' does not match Host 'join.example.com'"},
        {"join.example.com:8443", "other.example.com", 421,
         "TLS server name 'other.example.com' does not match Host 'join.example.com'"},
        {"join.example.com", "", 421, "no TLS server name for Host 'join.example.com'"},
        {"example.a1", "", 421, "no TLS server name for Host 'example.a1'"},  // a name, not an IP
        {"10.0.0.1", "join.example.com", 421,
         "TLS server name 'join.example.com' does not match Host '10.0.0.1'"},
        {"join.example.com", "join.example.com\n", 421,
         "TLS server name 'join.example.com\\x0a' does not match Host 'join.example.com'"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.host, c.sni);
        RequestHead h = head("/", c.host);
        h.sni = c.sni;
        h.check_sni = true;
        const auto result = normalize(h);
        if (c.status == 0) {
            CHECK(accepted(result));
        } else {
            const Refusal r = refusal(result);
            CHECK(r.status == c.status);
            CHECK(r.reason == c.reason);
        }
        h.check_sni = false;  // the core does not see the handshake
        CHECK(accepted(normalize(h)));
    }
}

TEST_CASE("normalize: WebSocket upgrades are wss, the rest https", "[unit][allowlist][normalize]") {
    RequestHead h = head("/ws?room=1");
    const auto https = normalize(h);
    REQUIRE(accepted(https));
    CHECK(accepted(https)->protocol == Protocol::https);
    h.websocket = true;
    const auto wss = normalize(h);
    REQUIRE(accepted(wss));
    CHECK(accepted(wss)->protocol == Protocol::wss);
    CHECK(accepted(wss)->target() == "/ws?room=1");
}

TEST_CASE("normalize_rule_path: the request rules, plus no query", "[unit][allowlist][normalize]") {
    CHECK(normalize_rule_path("/") == "/");
    CHECK(normalize_rule_path("/api/") == "/api/");
    CHECK(normalize_rule_path("/api") == "/api");
    CHECK(normalize_rule_path("//api//v1/./x/../") == "/api/v1/");
    CHECK(normalize_rule_path("/%7Euser/%c3%a9") == "/~user/%C3%A9");
    CHECK(rule_path_error("") == "a path must start with '/'");
    CHECK(rule_path_error("api/") == "a path must start with '/'");
    CHECK(rule_path_error("https://join.example.com/") == "a path must start with '/'");
    CHECK(rule_path_error("/api?x=1") == "a rule path cannot have a query");
    CHECK(rule_path_error("/api#x") == "fragment in the path");
    CHECK(rule_path_error("/a%2fb") == "encoded '/' in the path");
    CHECK(rule_path_error("/..") == "path climbs above the root");
    CHECK(rule_path_error("/%2e%2e/") == "percent-encoded dot segment in the path");
    CHECK(rule_path_error("/a b") == "space or control character in the path");
    for (const auto& c : kRefused) {
        if (c.target.find_first_of("?#") != std::string::npos) continue;
        CAPTURE(c.target);
        CHECK(rule_path_error(c.target) == c.reason);
    }
    for (const auto& c : kCanonical) {
        if (!c.query.empty()) continue;
        CAPTURE(c.target);
        CHECK(normalize_rule_path(c.target) == c.path);
    }
}

TEST_CASE("normalize_rule_host: names and IP literals", "[unit][allowlist][normalize]") {
    CHECK(normalize_rule_host("Join.Example.COM.") == "join.example.com");
    CHECK(normalize_rule_host("10.0.0.1") == "10.0.0.1");
    CHECK(normalize_rule_host("[::1]") == "[::1]");
    CHECK(normalize_rule_host("::1") == "[::1]");
    CHECK(normalize_rule_host("2001:DB8:0:0::1") == "[2001:db8::1]");
    CHECK(rule_host_error("") == "empty host");
    CHECK(rule_host_error("join.example.com:443") == "the host has a port: use the port field");
    CHECK(rule_host_error("[::1]:443") == "invalid IPv6 address '[::1]:443'");
    CHECK(rule_host_error("a b") == "invalid character in host 'a b'");
    CHECK(rule_host_error("user@host") == "user information in the host");
    CHECK(rule_host_error("1.2.3.256") == "invalid IPv4 address '1.2.3.256'");
    CHECK(rule_host_error("1::2::3") == "invalid IPv6 address '1::2::3'");
}
