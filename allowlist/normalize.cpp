// The request normaliser: turns a request head into the one canonical form the matcher sees, or
// refuses it. Anything a back end might read differently from us (encoded separators, encoded dot
// segments, Tomcat path parameters, broken UTF-8) is refused rather than guessed at, so a rule
// cannot be bypassed by spelling the same path another way. Runs on every request at the edge
// and again at the core, so the success path does not allocate beyond the result's strings.
#include "allowlist/allowlist.hpp"

#include <fmt/format.h>

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

namespace edgeway::allowlist {
namespace {

// What a problem is reported as: nothing on success, so the hot path never builds a string.
using Problem = std::optional<std::string>;

// ---------------------------------------------------------------------------------------------
// Character classes (RFC 3986 section 2 and 3.3).

enum : std::uint8_t {
    kUnreserved = 1,  // ALPHA DIGIT - . _ ~
    // unreserved, sub-delims, ':' and '@' (the escape '%' handled apart), plus '^', '|', '['
    // and ']': browsers send those four unencoded in paths (WHATWG URL path percent-encode
    // set), and none of them means anything to path resolution.
    kPchar = 2,
    kHexDigit = 4,
    kNameChar = 8,  // what a lowercased host name may hold
};

constexpr std::array<std::uint8_t, 256> make_classes() {
    std::array<std::uint8_t, 256> table{};
    for (int c = 0; c < 256; ++c) {
        const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        const bool digit = c >= '0' && c <= '9';
        std::uint8_t bits = 0;
        if (alpha || digit || c == '-' || c == '.' || c == '_' || c == '~') bits |= kUnreserved;
        if ((bits & kUnreserved) ||
            std::string_view("!$&'()*+,;=:@^|[]").find(static_cast<char>(c)) !=
                std::string_view::npos)
            bits |= kPchar;
        if (digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) bits |= kHexDigit;
        if ((c >= 'a' && c <= 'z') || digit || c == '.' || c == '-' || c == '_') bits |= kNameChar;
        table[static_cast<std::size_t>(c)] = bits;
    }
    return table;
}
constexpr auto kClasses = make_classes();

bool has_class(char c, std::uint8_t bits) {
    return (kClasses[static_cast<unsigned char>(c)] & bits) != 0;
}

unsigned hex_value(char c) {
    if (c >= '0' && c <= '9') return static_cast<unsigned>(c - '0');
    return static_cast<unsigned>((c | 0x20) - 'a' + 10);
}

constexpr std::array<char, 256> make_lowercase() {
    std::array<char, 256> table{};
    for (int c = 0; c < 256; ++c)
        table[static_cast<std::size_t>(c)] = static_cast<char>(c >= 'A' && c <= 'Z' ? c | 0x20 : c);
    return table;
}
constexpr auto kLowercase = make_lowercase();

char lower(char c) {
    return kLowercase[static_cast<unsigned char>(c)];
}

bool is_digits(std::string_view s) {
    if (s.empty()) return false;
    for (const char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

// Quotes text from the network for a log line: no control bytes, bounded length.
std::string printable(std::string_view text, std::size_t max = 64) {
    std::string out;
    for (const char ch : text.substr(0, max)) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c >= 0x7F || c == '\'' || c == '\\')
            out += fmt::format("\\x{:02x}", c);
        else
            out += ch;
    }
    if (text.size() > max) out += "...";
    return out;
}

// ---------------------------------------------------------------------------------------------
// Hosts and ports.

// A port as digits only, 1..65535 (no sign, no empty port).
std::optional<std::uint16_t> parse_port(std::string_view text) {
    if (!is_digits(text) || text.size() > 5) return std::nullopt;
    unsigned value = 0;
    for (const char c : text) value = value * 10 + static_cast<unsigned>(c - '0');
    if (value == 0 || value > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(value);
}

// Dotted-quad only: other spellings ("127.1", "0x7f.0.0.1", "010.0.0.1") are read differently by
// different resolvers, so they are refused instead of being canonicalised.
bool valid_ipv4(std::string_view text) {
    int parts = 0;
    std::size_t pos = 0;
    while (true) {
        const std::size_t dot = text.find('.', pos);
        const std::string_view part =
            text.substr(pos, dot == std::string_view::npos ? dot : dot - pos);
        if (!is_digits(part) || part.size() > 3 || (part.size() > 1 && part[0] == '0'))
            return false;
        unsigned value = 0;
        for (const char c : part) value = value * 10 + static_cast<unsigned>(c - '0');
        if (value > 255) return false;
        ++parts;
        if (dot == std::string_view::npos) break;
        pos = dot + 1;
    }
    return parts == 4;
}

// The canonical (RFC 5952) text of an IPv6 literal, in brackets; nullopt when it is not one.
// Zone identifiers ("%eth0") mean nothing to a remote host and are refused.
std::optional<std::string> canonical_ipv6(std::string_view text) {
    char buffer[INET6_ADDRSTRLEN + 1] = {};
    if (text.empty() || text.size() >= sizeof buffer || text.find('\0') != std::string_view::npos)
        return std::nullopt;
    std::memcpy(buffer, text.data(), text.size());
    unsigned char address[16];
    if (inet_pton(AF_INET6, buffer, address) != 1) return std::nullopt;
    char canonical[INET6_ADDRSTRLEN];
    if (inet_ntop(AF_INET6, address, canonical, sizeof canonical) == nullptr) return std::nullopt;
    return "[" + std::string(canonical) + "]";
}

// The last label of a name ("com" in "join.example.com").
std::string_view last_label(std::string_view name) {
    const std::size_t dot = name.rfind('.');
    return dot == std::string_view::npos ? name : name.substr(dot + 1);
}

// A name whose last label is a number (decimal, or hex as "0x1f") is an IPv4 address to URL
// parsers (WHATWG), so it must be a valid one; "0xygen" is still a name.
bool looks_numeric(std::string_view label) {
    if (is_digits(label)) return true;
    if (!label.starts_with("0x")) return false;
    return std::all_of(label.begin() + 2, label.end(),
                       [](char c) { return has_class(c, kHexDigit); });
}

// Checks the labels of a lowercased name of valid characters, its trailing dot removed: 1..63
// characters each, 253 in all; a numeric last label means a dotted-quad IPv4 address.
Problem check_labels(std::string_view name) {
    if (name.empty()) return "empty host";
    if (name.size() > 253) return "host name longer than 253 characters";
    std::size_t start = 0;
    while (true) {
        const std::size_t dot = name.find('.', start);
        const std::size_t length = (dot == std::string_view::npos ? name.size() : dot) - start;
        if (length == 0) return fmt::format("empty label in host '{}'", printable(name));
        if (length > 63) return "host label longer than 63 characters";
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    if (looks_numeric(last_label(name)) && !valid_ipv4(name))
        return fmt::format("invalid IPv4 address '{}'", printable(name));
    return std::nullopt;
}

// Lowercases a name or IPv4 address into `out` and checks it, in one pass over the characters
// (this runs for every request).
Problem parse_name(std::string_view text, std::string& out) {
    out.resize(text.size());
    char* o = out.data();
    std::uint8_t all = kNameChar;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = lower(text[i]);
        o[i] = c;
        all &= kClasses[static_cast<unsigned char>(c)];
    }
    if (!(all & kNameChar)) {
        if (text.find('@') != std::string_view::npos) return "user information in the host";
        return fmt::format("invalid character in host '{}'", printable(out));
    }
    if (out.back() == '.') out.pop_back();  // "example.com." is "example.com"
    return check_labels(out);
}

// Normalises a host without a port into `out`: "[v6]" literal or a name / IPv4 address.
// A bare IPv6 literal is accepted only where no port can follow (rule hosts).
Problem parse_host(std::string_view text, bool bare_ipv6, std::string& out) {
    if (text.empty()) return "empty host";
    bool bracketed = text.front() == '[';
    if (bare_ipv6 && !bracketed && text.find('@') == std::string_view::npos) {
        const auto colons = std::count(text.begin(), text.end(), ':');
        if (colons == 1) return "the host has a port: use the port field";
        bracketed = colons > 1;
    }
    if (!bracketed) return parse_name(text, out);
    const std::string_view inner = text.front() != '['  ? text
                                   : text.back() == ']' ? text.substr(1, text.size() - 2)
                                                        : std::string_view();
    auto canonical = canonical_ipv6(inner);
    if (!canonical) return fmt::format("invalid IPv6 address '{}'", printable(text));
    out = std::move(*canonical);
    return std::nullopt;
}

// Parses "host[:port]" (Host header, :authority, absolute-form authority).
Problem parse_authority(std::string_view text, std::string& host, std::uint16_t& port) {
    if (text.empty()) return "empty host";
    if (text.find('@') != std::string_view::npos) return "user information in the host";
    std::size_t host_end = text.size();
    if (text.front() == '[') {
        const std::size_t close = text.find(']');
        if (close == std::string_view::npos)
            return fmt::format("invalid IPv6 address '{}'", printable(text));
        host_end = close + 1;
    } else {
        host_end = std::min(text.find(':'), text.size());
    }
    port = 443;
    if (host_end < text.size()) {
        if (text[host_end] != ':') return fmt::format("invalid host '{}'", printable(text));
        const auto parsed = parse_port(text.substr(host_end + 1));
        if (!parsed) return fmt::format("invalid port in host '{}'", printable(text));
        port = *parsed;
    }
    return parse_host(text.substr(0, host_end), false, host);
}

// A normalised host is an IP literal when it is bracketed or its last label is numeric (names
// with a numeric last label are refused unless they are IPv4 addresses).
bool is_ip_literal(std::string_view host) {
    return !host.empty() && (host.front() == '[' || is_digits(last_label(host)));
}

// The edge refuses a request whose Host names another site than the TLS handshake did: the
// certificate was chosen for the SNI, and a mismatch is how domain fronting works.
Problem check_sni(std::string_view sni, std::string_view host) {
    if (sni.empty()) {
        if (is_ip_literal(host)) return std::nullopt;
        return fmt::format("no TLS server name for Host '{}'", host);
    }
    std::string_view name = sni;
    if (name.back() == '.') name.remove_suffix(1);
    bool same = name.size() == host.size();
    for (std::size_t i = 0; same && i < name.size(); ++i) same = lower(name[i]) == host[i];
    if (same) return std::nullopt;
    return fmt::format("TLS server name '{}' does not match Host '{}'", printable(sni), host);
}

// ---------------------------------------------------------------------------------------------
// Paths.

// Validates the byte sequence the path decodes to as UTF-8 (RFC 3629: no overlongs, no
// surrogates, nothing above U+10FFFF), one byte at a time across escapes and raw characters.
class Utf8Validator {
  public:
    bool feed(unsigned char b) {
        if (need_ == 0) return start(b);
        if (b < lo_ || b > hi_) return false;
        --need_;
        lo_ = 0x80;
        hi_ = 0xBF;
        return true;
    }
    bool in_sequence() const { return need_ != 0; }

  private:
    bool start(unsigned char b) {
        if (b < 0x80) return true;
        if (b >= 0xC2 && b <= 0xDF) return expect(1, 0x80, 0xBF);
        if (b == 0xE0) return expect(2, 0xA0, 0xBF);
        if (b == 0xED) return expect(2, 0x80, 0x9F);
        if (b >= 0xE1 && b <= 0xEF) return expect(2, 0x80, 0xBF);
        if (b == 0xF0) return expect(3, 0x90, 0xBF);
        if (b >= 0xF1 && b <= 0xF3) return expect(3, 0x80, 0xBF);
        if (b == 0xF4) return expect(3, 0x80, 0x8F);
        return false;
    }
    bool expect(unsigned need, unsigned char lo, unsigned char hi) {
        need_ = need;
        lo_ = lo;
        hi_ = hi;
        return true;
    }
    unsigned need_ = 0;
    unsigned char lo_ = 0x80;
    unsigned char hi_ = 0xBF;
};

constexpr const char* kBadUtf8 = "percent-escapes that are not UTF-8 in the path";

// Why a raw byte that is neither a pchar nor '%' cannot be in a path (or query).
std::string raw_byte_problem(char ch, std::string_view where) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x21 || c == 0x7F) return fmt::format("space or control character in the {}", where);
    if (c >= 0x80) return fmt::format("non-ASCII byte in the {}", where);
    if (c == '\\') return fmt::format("backslash in the {}", where);
    return fmt::format("character '{}' in the {}", ch, where);
}

// Segments that Tomcat and its kin read as "." or ".." once they strip ";params".
bool dot_with_parameter(std::string_view seg) {
    for (const std::string_view dots : {"..", "."}) {
        if (seg.starts_with(dots) && seg.size() > dots.size()) {
            const std::string_view rest = seg.substr(dots.size());
            if (rest.front() == ';' || rest.starts_with("%3B")) return true;
        }
    }
    return false;
}

// Writes the normal form of an origin-form path (starting with '/', without the query) in one
// pass over its bytes, straight into a buffer sized for the worst case: decoding only shrinks
// the path, and the one byte it can add is a final '/'.
class PathNormalizer {
  public:
    PathNormalizer(std::string_view raw, std::string& out) : raw_(raw), out_(out) {}

    Problem run() {
        out_.resize(raw_.size() + 1);
        o_ = out_.data();
        bool trailing_slash = false;
        while (i_ < raw_.size()) {
            while (i_ < raw_.size() && raw_[i_] == '/') ++i_;  // "//" is "/"
            if (i_ == raw_.size()) {
                trailing_slash = true;
                break;
            }
            if (utf8_.in_sequence()) return kBadUtf8;  // a sequence cut by '/'
            const std::size_t start = w_;
            o_[w_++] = '/';
            bool escaped = false;
            if (const char* problem = copy_segment(escaped)) return describe(problem);
            trailing_slash = false;
            if (o_[start + 1] == '.') {
                if (const char* problem = resolve_dots(start, escaped)) return std::string(problem);
                trailing_slash = w_ <= start && i_ == raw_.size();  // "/a/." is "/a/"
            }
        }
        if (utf8_.in_sequence()) return kBadUtf8;
        if (w_ == 0 || trailing_slash) o_[w_++] = '/';
        out_.resize(w_);
        return std::nullopt;
    }

  private:
    static constexpr char kRawByte[] = "raw byte";  // the message depends on the byte

    // Copies raw_[i_...] up to the next '/' or the end. The plain-character loop works on
    // locals: stores through a char* could alias the members and force reloads.
    const char* copy_segment(bool& escaped) {
        const char* in = raw_.data();
        const std::size_t size = raw_.size();
        while (i_ < size) {
            std::size_t i = i_;
            std::size_t w = w_;
            char* const o = o_;
            const bool in_sequence = utf8_.in_sequence();
            while (i < size && has_class(in[i], kPchar)) o[w++] = in[i++];
            const bool copied = i != i_;
            i_ = i;
            w_ = w;
            if (copied && in_sequence) return kBadUtf8;
            if (i_ == size || in[i_] == '/') return nullptr;
            if (in[i_] != '%') return kRawByte;
            if (const char* problem = copy_escape()) return problem;
            escaped = true;
            i_ += 3;
        }
        return nullptr;
    }

    // Decodes the escape at raw_[i_]: unreserved characters become themselves (RFC 3986
    // 6.2.2.2, "%7E" is "~"), anything else keeps its escape with uppercase hex.
    const char* copy_escape() {
        if (i_ + 2 >= raw_.size() || !has_class(raw_[i_ + 1], kHexDigit) ||
            !has_class(raw_[i_ + 2], kHexDigit))
            return "invalid percent-escape in the path";
        const unsigned value = hex_value(raw_[i_ + 1]) * 16 + hex_value(raw_[i_ + 2]);
        const char decoded = static_cast<char>(value);
        if (value < 0x20 || value == 0x7F) return "encoded control character in the path";
        if (decoded == '/') return "encoded '/' in the path";
        if (decoded == '\\') return "encoded '\\' in the path";
        if (!utf8_.feed(static_cast<unsigned char>(value))) return kBadUtf8;
        if (has_class(decoded, kUnreserved)) {
            o_[w_++] = decoded;
        } else {
            static constexpr char kHex[] = "0123456789ABCDEF";
            o_[w_++] = '%';
            o_[w_++] = kHex[value >> 4];
            o_[w_++] = kHex[value & 15];
        }
        return nullptr;
    }

    // The segment just written at o_[start] begins with '.': drops "." and ".." (RFC 3986
    // 5.2.4) and refuses the disguised forms.
    const char* resolve_dots(std::size_t start, bool escaped) {
        const std::string_view seg(o_ + start + 1, w_ - start - 1);
        const bool dot = seg == ".";
        const bool dot_dot = seg == "..";
        if ((dot || dot_dot) && escaped) return "percent-encoded dot segment in the path";
        if (dot_with_parameter(seg)) return "dot segment with a parameter in the path";
        if (!dot && !dot_dot) return nullptr;
        w_ = start;
        if (dot_dot) {
            if (w_ == 0) return "path climbs above the root";
            while (o_[--w_] != '/') {
            }
        }
        return nullptr;
    }

    std::string describe(const char* problem) const {
        if (problem != kRawByte) return problem;
        return raw_byte_problem(raw_[i_], "path");
    }

    std::string_view raw_;
    std::string& out_;
    char* o_ = nullptr;
    std::size_t i_ = 0;  // read position in raw_
    std::size_t w_ = 0;  // write position in out_
    Utf8Validator utf8_;
};

// Normalises an origin-form path (starting with '/', without the query) into `out`.
Problem normalize_path_into(std::string_view raw, std::string& out) {
    return PathNormalizer(raw, out).run();
}

// The query is forwarded as received, so it is only checked for bytes no back end should see.
Problem check_query(std::string_view query) {
    for (std::size_t i = 1; i < query.size(); ++i) {
        const char c = query[i];
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x21 || byte >= 0x7F) return raw_byte_problem(c, "query");
        if (c != '%') continue;
        if (i + 2 >= query.size() || !has_class(query[i + 1], kHexDigit) ||
            !has_class(query[i + 2], kHexDigit))
            return "invalid percent-escape in the query";
        if (query[i + 1] == '0' && query[i + 2] == '0') return "encoded NUL in the query";
        i += 2;
    }
    return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// The request target.

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
    if (text.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i)
        if (lower(text[i]) != prefix[i]) return false;
    return true;
}

bool valid_scheme(std::string_view scheme) {
    if (scheme.empty() || !std::isalpha(static_cast<unsigned char>(scheme[0]))) return false;
    for (const char c : scheme)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.')
            return false;
    return true;
}

// Reduces an absolute-form target to its path and query after checking that its authority is
// the Host's: a proxy that routed on one and matched on the other could be steered.
Problem split_absolute(std::string_view target, const NormalizedRequest& request,
                       std::string_view& path, std::string_view& query) {
    const std::size_t sep = target.find("://");
    if (sep == std::string_view::npos || !valid_scheme(target.substr(0, sep)))
        return "request target is neither origin-form nor absolute-form";
    if (!starts_with_nocase(target, "https://"))
        return fmt::format("scheme '{}' is not allowed", printable(target.substr(0, sep), 16));
    const std::string_view rest = target.substr(sep + 3);
    const std::size_t authority_end = std::min(rest.find_first_of("/?"), rest.size());
    std::string host;
    std::uint16_t port = 443;
    if (auto problem = parse_authority(rest.substr(0, authority_end), host, port))
        return "request target authority: " + *problem;
    if (host != request.host || port != request.port)
        return fmt::format("request target authority '{}' does not match Host '{}'",
                           printable(rest.substr(0, authority_end)), request.authority());
    const std::string_view tail = rest.substr(authority_end);
    const std::size_t question = std::min(tail.find('?'), tail.size());
    path = question == 0 ? std::string_view("/") : tail.substr(0, question);
    query = tail.substr(question);
    return std::nullopt;
}

Problem split_target(std::string_view target, const NormalizedRequest& request,
                     std::string_view& path, std::string_view& query) {
    if (target.empty()) return "empty request target";
    if (target.find('#') != std::string_view::npos) return "fragment in the request target";
    if (target == "*") return "asterisk-form request target";
    if (target.front() != '/') return split_absolute(target, request, path, query);
    const std::size_t question = std::min(target.find('?'), target.size());
    path = target.substr(0, question);
    query = target.substr(question);
    return std::nullopt;
}

Refusal refuse(unsigned status, std::string reason) {
    return Refusal{status, std::move(reason)};
}

}  // namespace

std::string NormalizedRequest::authority() const {
    if (port == 443) return host;
    return fmt::format("{}:{}", host, port);
}

Normalized normalize(const RequestHead& head) {
    const auto method = parse_method(head.method);
    if (!method)
        return refuse(405, fmt::format("method '{}' is not allowed", printable(head.method, 32)));
    NormalizedRequest request;
    request.method = *method;
    request.protocol = head.websocket ? Protocol::wss : Protocol::https;
    if (head.host.empty()) return refuse(400, "missing Host");
    if (auto problem = parse_authority(head.host, request.host, request.port))
        return refuse(400, std::move(*problem));
    if (head.check_sni) {
        if (auto problem = check_sni(head.sni, request.host))
            return refuse(421, std::move(*problem));
    }
    std::string_view path;
    std::string_view query;
    if (auto problem = split_target(head.target, request, path, query))
        return refuse(400, std::move(*problem));
    if (auto problem = normalize_path_into(path, request.path))
        return refuse(400, std::move(*problem));
    if (auto problem = check_query(query)) return refuse(400, std::move(*problem));
    request.query.assign(query);
    return request;
}

std::string normalize_rule_path(std::string_view path) {
    if (path.empty() || path.front() != '/') throw RuleError("a path must start with '/'");
    if (path.find('?') != std::string_view::npos)
        throw RuleError("a rule path cannot have a query");
    if (path.find('#') != std::string_view::npos) throw RuleError("fragment in the path");
    std::string out;
    if (auto problem = normalize_path_into(path, out)) throw RuleError(*problem);
    return out;
}

std::string normalize_rule_host(std::string_view host) {
    std::string out;
    if (auto problem = parse_host(host, true, out)) throw RuleError(*problem);
    return out;
}

}  // namespace edgeway::allowlist
