// The rule model: names of the enums, one-line descriptions, and the JSON forms (one rule, the
// versioned set pushed to edges, the import/export file). Every field is validated on the way
// in and errors name the entry and the field, because operators read them in the CLI.
#include "allowlist/allowlist.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <initializer_list>
#include <limits>
#include <unordered_map>
#include <utility>

namespace edgeway::allowlist {
namespace {

using nlohmann::json;

constexpr std::array<std::string_view, kMethodCount> kMethodNames = {
    "GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "PATCH"};
constexpr std::size_t kMaxDescription = 200;  // characters (code points)
constexpr std::string_view kMethodsExpected =
    "expected a non-empty list of GET, POST, PUT, HEAD, DELETE, OPTIONS, PATCH";

// Appends text in double quotes, JSON style, so quotes and control characters in a message stay
// visible and harmless in a log line. Cheap: it runs for every refused request's reason.
void append_quoted(std::string& out, std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += '"';
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (byte < 0x20 || byte == 0x7F) {
            out += "\\u00";
            out += kHex[byte >> 4];
            out += kHex[byte & 15];
        } else {
            out += c;
        }
    }
    out += '"';
}

void append_number(std::string& out, std::int64_t value) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
    out.append(digits, end);
}

std::string in_quotes(std::string_view text) {
    std::string out;
    append_quoted(out, text);
    return out;
}

// Where an error happened ("rule 3 (\"Reports API\"): "), prefixed to every message.
class Context {
  public:
    explicit Context(const std::string& where) : prefix_(where.empty() ? "" : where + ": ") {}

    [[noreturn]] void fail(std::string_view message) const {
        throw RuleError(prefix_ + std::string(message));
    }
    [[noreturn]] void fail(std::string_view field, std::string_view what) const {
        throw RuleError(fmt::format("{}field \"{}\": {}", prefix_, field, what));
    }

  private:
    std::string prefix_;
};

void check_known_fields(const json& object, std::initializer_list<std::string_view> known,
                        const Context& context) {
    for (auto it = object.begin(); it != object.end(); ++it) {
        if (std::find(known.begin(), known.end(), it.key()) == known.end())
            context.fail(fmt::format("unknown field {}", in_quotes(it.key())));
    }
}

const json& required(const json& object, const char* field, const Context& context) {
    const auto it = object.find(field);
    if (it == object.end()) context.fail(fmt::format("missing field \"{}\"", field));
    return *it;
}

// A JSON integer in [low, high], or nullopt (floats, strings and booleans are not integers).
std::optional<std::int64_t> integer_in(const json& value, std::int64_t low, std::int64_t high) {
    if (value.is_number_unsigned()) {
        const auto v = value.get<std::uint64_t>();
        if (v > static_cast<std::uint64_t>(high)) return std::nullopt;
        const auto result = static_cast<std::int64_t>(v);
        if (result < low) return std::nullopt;
        return result;
    }
    if (value.is_number_integer()) {
        const auto v = value.get<std::int64_t>();
        if (v < low || v > high) return std::nullopt;
        return v;
    }
    return std::nullopt;
}

// The number of characters of UTF-8 text, or nullopt when it is not UTF-8 or holds a control
// character (C0, DEL or C1): descriptions end up in logs and tables.
std::optional<std::size_t> count_printable_characters(std::string_view text) {
    std::size_t count = 0;
    for (std::size_t i = 0; i < text.size(); ++count) {
        const auto lead = static_cast<unsigned char>(text[i]);
        if (lead < 0x80) {
            if (lead < 0x20 || lead == 0x7F) return std::nullopt;
            ++i;
            continue;
        }
        const std::size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC2 ? 2 : 0;
        if (length == 0 || lead > 0xF4 || i + length > text.size()) return std::nullopt;
        for (std::size_t k = 1; k < length; ++k)
            if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return std::nullopt;
        if (lead == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0) return std::nullopt;
        i += length;
    }
    return count;
}

// Reads a string field that must be one of a few names.
template <typename Enum, std::size_t N>
Enum read_name(const json& value, const char* field,
               const std::array<std::pair<std::string_view, Enum>, N>& names,
               std::string_view expected, const Context& context) {
    if (value.is_string()) {
        const auto& text = value.get_ref<const std::string&>();
        for (const auto& [name, e] : names)
            if (name == text) return e;
    }
    context.fail(field, expected);
}

constexpr std::array<std::pair<std::string_view, Protocol>, 2> kProtocols = {
    {{"https", Protocol::https}, {"wss", Protocol::wss}}};
constexpr std::array<std::pair<std::string_view, Match>, 2> kMatches = {
    {{"prefix", Match::prefix}, {"exact", Match::exact}}};
constexpr std::array<std::pair<std::string_view, Origin>, 2> kOrigins = {
    {{"auto", Origin::automatic}, {"operator", Origin::operator_rule}}};

std::string read_description(const json& value, const Context& context) {
    const auto expected = fmt::format(
        "expected a string of at most {} characters without control characters", kMaxDescription);
    if (!value.is_string()) context.fail("description", expected);
    const auto& text = value.get_ref<const std::string&>();
    const auto count = count_printable_characters(text);
    if (!count || *count > kMaxDescription) context.fail("description", expected);
    return text;
}

MethodSet read_methods(const json& value, const Context& context) {
    if (!value.is_array() || value.empty()) context.fail("methods", kMethodsExpected);
    MethodSet methods = 0;
    for (const auto& item : value) {
        const auto method =
            item.is_string() ? parse_method(item.get_ref<const std::string&>()) : std::nullopt;
        if (!method) context.fail("methods", kMethodsExpected);
        if (methods & method_bit(*method))
            context.fail("methods", fmt::format("{} is listed twice", method_name(*method)));
        methods |= method_bit(*method);
    }
    return methods;
}

// Runs a normaliser that throws RuleError and reports its message under the field's name.
template <typename Normalise>
std::string read_normalised(const json& value, const char* field, std::string_view expected,
                            Normalise normalise, const Context& context) {
    if (!value.is_string()) context.fail(field, expected);
    try {
        return normalise(value.get_ref<const std::string&>());
    } catch (const RuleError& e) {
        context.fail(field, e.what());
    }
}

// "rule 3" or "rule 3 (\"Reports API\")": what operators recognise in their file.
std::string entry_name(std::size_t index, const json& entry) {
    std::string name = fmt::format("rule {}", index + 1);
    if (entry.is_object()) {
        const auto it = entry.find("description");
        if (it != entry.end() && it->is_string() && !it->get_ref<const std::string&>().empty())
            name +=
                fmt::format(" ({})", in_quotes(it->get_ref<const std::string&>().substr(0, 80)));
    }
    return name;
}

// Both JSON flavours: json for the wire (rule_to_json), ordered_json for files people read.
template <typename Json>
Json rule_json(const Rule& rule, bool with_id) {
    Json methods = Json::array();
    for (unsigned m = 0; m < kMethodCount; ++m)
        if (rule.methods & method_bit(static_cast<Method>(m)))
            methods.push_back(std::string(kMethodNames[m]));
    Json out = Json::object();
    if (with_id) out["id"] = rule.id;
    out["description"] = rule.description;
    out["protocol"] = std::string(protocol_name(rule.protocol));
    out["host"] = rule.host;
    out["port"] = rule.port;
    out["match"] = std::string(match_name(rule.match));
    out["path"] = rule.path;
    out["methods"] = std::move(methods);
    out["origin"] = std::string(origin_name(rule.origin));
    return out;
}

// The rules of a rule file: what makes two rules the same, whatever their description.
std::string identity(const Rule& rule) {
    return fmt::format("{} {} {} {} {} {}", protocol_name(rule.protocol), rule.host, rule.port,
                       match_name(rule.match), rule.path, rule.methods);
}

// The 1-based line and column of a byte offset, for JSON syntax errors.
std::pair<std::size_t, std::size_t> line_and_column(std::string_view text, std::size_t offset) {
    offset = std::min(offset, text.size());
    const std::string_view before = text.substr(0, offset);
    const std::size_t line =
        1 + static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n'));
    const std::size_t line_start = before.rfind('\n');
    const std::size_t column =
        line_start == std::string_view::npos ? offset + 1 : offset - line_start;
    return {line, column};
}

// nlohmann's message without its "[json.exception...] parse error at line 2, column 3: " or
// "[json.exception.out_of_range.406] " head, and without the raw bytes it may quote from the
// file ("last read: '<byte>'").
std::string parse_error_detail(std::string_view what) {
    const std::size_t head = what.find("parse error");
    const std::size_t colon = head == std::string_view::npos ? head : what.find(": ", head);
    if (colon != std::string_view::npos) {
        what.remove_prefix(colon + 2);
    } else if (what.starts_with("[json.exception.")) {
        what.remove_prefix(std::min(what.find("] ") + 2, what.size()));
    }
    std::string detail(what);
    for (char& c : detail)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7F) c = '?';
    return detail;
}

json parse_json_file(std::string_view text) {
    try {
        return json::parse(text.begin(), text.end(), nullptr, true, /*ignore_comments=*/true);
    } catch (const json::parse_error& e) {
        // e.byte counts from 1 and points at the last character read.
        const auto [line, column] = line_and_column(text, e.byte == 0 ? 0 : e.byte - 1);
        throw RuleError(fmt::format("rule file: invalid JSON at line {}, column {}: {}", line,
                                    column, parse_error_detail(e.what())));
    } catch (const json::exception& e) {  // out_of_range: a number too large for a double
        throw RuleError(fmt::format("rule file: invalid JSON: {}", parse_error_detail(e.what())));
    }
}

}  // namespace

std::optional<Method> parse_method(std::string_view text) {
    for (unsigned m = 0; m < kMethodCount; ++m)
        if (kMethodNames[m] == text) return static_cast<Method>(m);
    return std::nullopt;
}

std::string_view method_name(Method m) {
    return kMethodNames[static_cast<unsigned>(m)];
}

std::string format_methods(MethodSet methods) {
    std::string out;
    for (unsigned m = 0; m < kMethodCount; ++m) {
        if (!(methods & method_bit(static_cast<Method>(m)))) continue;
        if (!out.empty()) out += ',';
        out += kMethodNames[m];
    }
    return out;
}

std::string_view protocol_name(Protocol p) {
    return p == Protocol::wss ? "wss" : "https";
}
std::string_view match_name(Match m) {
    return m == Match::exact ? "exact" : "prefix";
}
std::string_view origin_name(Origin o) {
    return o == Origin::automatic ? "auto" : "operator";
}

std::string Rule::describe() const {
    std::string out;
    // Room for the caller to put a few words in front (the matcher's refusal reasons) without
    // a second allocation; plain appends because refusals are frequent.
    out.reserve(96 + host.size() + path.size() + description.size());
    if (id != 0) {
        out += '#';
        append_number(out, id);
        out += ' ';
    }
    out += protocol_name(protocol);
    out += ' ';
    out += host;
    out += ':';
    append_number(out, port);
    out += ' ';
    out += match_name(match);
    out += ' ';
    out += path;
    out += ' ';
    for (unsigned m = 0, n = 0; m < kMethodCount; ++m) {
        if (!(methods & method_bit(static_cast<Method>(m)))) continue;
        if (n++ > 0) out += ',';
        out += kMethodNames[m];
    }
    out += " (";
    out += origin_name(origin);
    if (!description.empty()) {
        out += ": ";
        append_quoted(out, description);
    }
    out += ')';
    return out;
}

Rule rule_from_json(const json& value, const std::string& where) {
    const Context context(where);
    if (!value.is_object()) context.fail("expected a JSON object");
    check_known_fields(
        value,
        {"id", "description", "protocol", "host", "port", "match", "path", "methods", "origin"},
        context);
    Rule rule;
    if (const auto it = value.find("id"); it != value.end()) {
        const auto id = integer_in(*it, 0, std::numeric_limits<std::int64_t>::max());
        if (!id) context.fail("id", "expected a non-negative integer");
        rule.id = *id;
    }
    if (const auto it = value.find("description"); it != value.end())
        rule.description = read_description(*it, context);
    rule.protocol = read_name(required(value, "protocol", context), "protocol", kProtocols,
                              R"(expected "https" or "wss")", context);
    rule.host = read_normalised(required(value, "host", context), "host",
                                "expected a host name or IP address", normalize_rule_host, context);
    const auto port = integer_in(required(value, "port", context), 1, 65535);
    if (!port) context.fail("port", "expected an integer from 1 to 65535");
    rule.port = static_cast<std::uint16_t>(*port);
    rule.match = read_name(required(value, "match", context), "match", kMatches,
                           R"(expected "prefix" or "exact")", context);
    rule.path = read_normalised(required(value, "path", context), "path",
                                "expected a path starting with '/'", normalize_rule_path, context);
    rule.methods = read_methods(required(value, "methods", context), context);
    if (const auto it = value.find("origin"); it != value.end())
        rule.origin =
            read_name(*it, "origin", kOrigins, R"(expected "auto" or "operator")", context);
    return rule;
}

json rule_to_json(const Rule& rule) {
    return rule_json<json>(rule, true);
}

RuleSet rule_set_from_json(const json& value) {
    const Context context("rule set");
    if (!value.is_object()) context.fail(R"(expected {"version": N, "rules": [...]})");
    check_known_fields(value, {"version", "rules", "cluster"}, context);
    RuleSet set;
    if (const auto it = value.find("cluster"); it != value.end()) {
        if (!it->is_boolean()) context.fail("cluster", "expected true or false");
        set.cluster = it->get<bool>();
    }
    const auto version = integer_in(required(value, "version", context), 0,
                                    std::numeric_limits<std::int64_t>::max());
    if (!version) context.fail("version", "expected a non-negative integer");
    set.version = static_cast<std::uint64_t>(*version);
    const json& rules = required(value, "rules", context);
    if (!rules.is_array()) context.fail("rules", "expected a list of rules");
    set.rules.reserve(rules.size());
    for (std::size_t i = 0; i < rules.size(); ++i)
        set.rules.push_back(rule_from_json(rules[i], entry_name(i, rules[i])));
    return set;
}

json rule_set_to_json(const RuleSet& set) {
    json rules = json::array();
    for (const Rule& rule : set.rules) rules.push_back(rule_to_json(rule));
    json out{{"version", set.version}, {"rules", std::move(rules)}};
    if (set.cluster) out["cluster"] = true;  // absent for one core's set, as it always was
    return out;
}

std::vector<Rule> parse_rule_file(std::string_view text) {
    const json document = parse_json_file(text);
    const Context context("rule file");
    const json* entries = &document;
    if (document.is_object()) {
        check_known_fields(document, {"rules"}, context);
        entries = &required(document, "rules", context);
        if (!entries->is_array()) context.fail("rules", "expected a list of rules");
    } else if (!document.is_array()) {
        context.fail(R"(expected {"rules": [...]} or a list of rules)");
    }
    std::vector<Rule> rules;
    rules.reserve(entries->size());
    std::unordered_map<std::string, std::size_t> seen;  // identity -> 1-based entry number
    for (std::size_t i = 0; i < entries->size(); ++i) {
        const std::string name = entry_name(i, (*entries)[i]);
        Rule rule = rule_from_json((*entries)[i], name);
        rule.id = 0;  // the store numbers imported rules
        rule.origin = Origin::operator_rule;
        const auto [it, added] = seen.emplace(identity(rule), i + 1);
        if (!added) throw RuleError(fmt::format("{}: same as rule {}", name, it->second));
        rules.push_back(std::move(rule));
    }
    return rules;
}

std::string format_rule_file(const std::vector<Rule>& rules) {
    nlohmann::ordered_json entries = nlohmann::ordered_json::array();
    for (const Rule& rule : rules)
        entries.push_back(rule_json<nlohmann::ordered_json>(rule, false));
    nlohmann::ordered_json document = nlohmann::ordered_json::object();
    document["rules"] = std::move(entries);
    return document.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace edgeway::allowlist
