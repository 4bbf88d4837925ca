// `edgeway allowlist`: the operator's view of the rule database. It opens the same SQLite file
// as the running core (WAL, so both can use it at once); the core notices committed changes
// and pushes the new rule set to its edges. Rules typed here go through the same validation as
// an imported file (allowlist::rule_from_json), and `test` runs the same normaliser and matcher
// as the edge.
#include "app/allowlist_cli.hpp"

#include "allowlist/allowlist.hpp"
#include "app/cli_user.hpp"
#include "common/cli_exit.hpp"
#include "proxy/proxy.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <string_view>

namespace edgeway::app {

namespace {

namespace al = edgeway::allowlist;
namespace fs = std::filesystem;

constexpr int kExitRefused = 1;  // `test` refused it, or the database failed

constexpr const char* kDefaultStateDirectory = "/var/lib/edgeway/core";

constexpr const char* kUsage =
    R"(usage: edgeway allowlist [--config CORE.json | --state-dir DIR] COMMAND

Shows and edits the core's allow list, kept in DIR/allowlist.db, or in the cluster's etcd when
the core configuration given with --config says so ("state": {"backend": "etcd", ...}). DIR is
the state_directory of that configuration, else --state-dir, else /var/lib/edgeway/core.

Commands:
  list [--json]          the automatically added rules, the editable rules and the targets
                         the join URLs resolved to
  add --protocol https|wss --host HOST [--port N] [--match prefix|exact] --path PATH
      --methods GET,POST,... [--description TEXT]
                         add an editable rule (port 443 and prefix match by default)
  remove ID              remove editable rule ID
  import FILE [--merge]  replace the editable rules with those of FILE ({"rules": [...]});
                         with --merge, add those not already present instead
  export [FILE]          write the editable rules as a rule file (default: standard output)
  test URL [--method M] [--websocket]
                         tell whether a request would be allowed, and by which rule.
                         URL is https://host[:port]/path[?query] or wss://... (a WebSocket
                         upgrade); the method defaults to GET

Exit codes: 0 done (test: allowed), 1 refused by test or a database error, 2 invalid input.
)";

// An error to report on one line, with its exit code.
struct Failure {
    int code;
    std::string message;
};
struct HelpRequested {};

[[noreturn]] void usage_error(std::string message) {
    throw Failure{kExitUsage, message + " (see 'edgeway allowlist --help')"};
}
[[noreturn]] void invalid(std::string message) {
    throw Failure{kExitUsage, std::move(message)};
}

// A command's words: options (with or without a value) and positional arguments.
struct Words {
    std::map<std::string, std::string, std::less<>> options;  // flags map to ""
    std::vector<std::string> positional;

    bool has(std::string_view name) const { return options.find(name) != options.end(); }
    std::optional<std::string> get(std::string_view name) const {
        const auto it = options.find(name);
        if (it == options.end()) return std::nullopt;
        return it->second;
    }
};

struct OptionSpec {
    std::string_view name;
    bool takes_value;
};

Words parse_words(std::string_view command, const std::vector<std::string>& args,
                  std::initializer_list<OptionSpec> specs, std::size_t min_positional,
                  std::size_t max_positional) {
    Words words;
    for (auto it = args.begin(); it != args.end(); ++it) {
        const std::string& word = *it;
        if (word == "--help" || word == "-h") throw HelpRequested{};
        if (word.size() < 2 || word[0] != '-') {
            words.positional.push_back(word);
            continue;
        }
        const OptionSpec* spec = nullptr;
        for (const auto& candidate : specs)
            if (candidate.name == word) spec = &candidate;
        if (!spec) usage_error(fmt::format("{}: unknown option {}", command, word));
        if (words.has(word)) usage_error(fmt::format("{}: {} given twice", command, word));
        std::string value;
        if (spec->takes_value) {
            if (++it == args.end()) usage_error(fmt::format("{}: {} needs a value", command, word));
            value = *it;
        }
        words.options.emplace(word, std::move(value));
    }
    if (words.positional.size() < min_positional)
        usage_error(fmt::format("{}: missing argument", command));
    if (words.positional.size() > max_positional)
        usage_error(
            fmt::format("{}: unexpected argument '{}'", command, words.positional[max_positional]));
    return words;
}

// The audit log's "who": the effective user, as the operator would recognise it.
al::Actor cli_actor() {
    return {cli_user_name()};
}

// "#N <rest>" for any rule description; Rule::describe already starts with "#N" for operator
// rules.
std::string described(const al::Rule& rule) {
    std::string text = rule.describe();
    const std::string id = fmt::format("#{}", rule.id);
    if (rule.id != 0 && text.rfind(id, 0) != 0) text = id + " " + text;
    return text;
}

// ---------------------------------------------------------------------------------------------
// Text tables.

// Control bytes from a description (an imported file can hold anything) must not reach the
// terminal as escape sequences or break the table's lines.
std::string printable(std::string_view text) {
    std::string result(text);
    for (char& c : result)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    return result;
}

// Columns counted in code points, not bytes, so non-ASCII descriptions stay aligned.
std::size_t display_width(std::string_view text) {
    std::size_t width = 0;
    for (const char c : text)
        if ((static_cast<unsigned char>(c) & 0xc0) != 0x80) ++width;
    return width;
}

void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> widths;
    for (const auto& row : rows) {
        widths.resize(std::max(widths.size(), row.size()), 0);
        for (std::size_t i = 0; i < row.size(); ++i)
            widths[i] = std::max(widths[i], display_width(row[i]));
    }
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) {
            line += row[i];
            if (i + 1 < row.size()) line.append(widths[i] - display_width(row[i]) + 2, ' ');
        }
        while (!line.empty() && line.back() == ' ') line.pop_back();
        out << line << "\n";
    }
}

void print_rules(std::ostream& out, std::string_view title, const std::vector<al::Rule>& rules) {
    out << title << "\n";
    if (rules.empty()) {
        out << "  (none)\n";
        return;
    }
    std::vector<std::vector<std::string>> rows{
        {"ID", "Description", "Protocol", "Host", "Port", "Match", "Path", "Methods"}};
    for (const auto& rule : rules)
        rows.push_back({rule.id == 0 ? std::string("-") : std::to_string(rule.id),
                        printable(rule.description), std::string(al::protocol_name(rule.protocol)),
                        printable(rule.host), std::to_string(rule.port),
                        std::string(al::match_name(rule.match)), printable(rule.path),
                        al::format_methods(rule.methods)});
    print_table(out, rows);
}

void print_targets(std::ostream& out, const std::vector<al::TargetStatus>& targets) {
    out << "Guest account client URI resolved to the following targets\n";
    std::vector<std::vector<std::string>> rows{{"URI", "Name", "Address", "Error"}};
    for (const auto& status : targets) {
        if (status.targets.empty())
            rows.push_back(
                {printable(status.uri), "-", "-",
                 status.error.empty() ? "the name does not exist" : printable(status.error)});
        for (const auto& target : status.targets)
            rows.push_back({printable(status.uri), printable(target.name),
                            printable(target.address), printable(status.error)});
    }
    print_table(out, rows);
}

// ---------------------------------------------------------------------------------------------
// Commands.

// The rule storage, opened when a command first needs it: a usage error or invalid input
// is reported without creating (or even touching) the file.
class Database {
  public:
    Database(fs::path file, state::Config state)
        : file_(std::move(file)), state_(std::move(state)) {}
    al::RuleStorage& store() {
        if (!store_) store_ = al::open_rule_storage(state_, file_);
        return *store_;
    }

  private:
    fs::path file_;
    state::Config state_;
    std::unique_ptr<al::RuleStorage> store_;
};

using Args = std::vector<std::string>;

int list(Database& db, const Args& args, std::ostream& out) {
    const Words words = parse_words("list", args, {{"--json", false}}, 0, 0);
    al::RuleStorage& store = db.store();
    const al::RuleSet set = store.rule_set();
    std::vector<al::Rule> automatic, editable;
    for (const auto& rule : set.rules)
        (rule.origin == al::Origin::automatic ? automatic : editable).push_back(rule);
    const auto targets = store.targets();

    if (words.has("--json")) {
        auto to_json = [](const std::vector<al::Rule>& rules) {
            auto list = nlohmann::json::array();
            for (const auto& rule : rules) list.push_back(al::rule_to_json(rule));
            return list;
        };
        auto target_list = nlohmann::json::array();
        for (const auto& status : targets) {
            auto resolved = nlohmann::json::array();
            for (const auto& target : status.targets)
                resolved.push_back({{"name", target.name}, {"address", target.address}});
            target_list.push_back({{"uri", status.uri},
                                   {"targets", resolved},
                                   {"error", status.error},
                                   {"checked_at", status.checked_at}});
        }
        const nlohmann::json document{{"version", set.version},
                                      {"automatic", to_json(automatic)},
                                      {"editable", to_json(editable)},
                                      {"targets", target_list}};
        out << document.dump(2) << "\n";
        return kExitOk;
    }

    out << "Rules version " << set.version << "\n\n";
    print_rules(out, "Automatically added rules", automatic);
    out << "\n";
    print_rules(out, "Editable rules", editable);
    if (!targets.empty()) {
        out << "\n";
        print_targets(out, targets);
    }
    return kExitOk;
}

// Checks each option of `add` on its own first, so a mistake is reported against the option
// the operator typed rather than a JSON field; rule_from_json then applies the import's rules.
al::Rule rule_from_options(const Words& words) {
    auto required = [&](std::string_view name) {
        auto value = words.get(name);
        if (!value) usage_error(fmt::format("add: {} is required", name));
        return *value;
    };
    const std::string protocol = required("--protocol");
    const std::string host = required("--host");
    const std::string path = required("--path");
    const std::string methods = required("--methods");
    const std::string match = words.get("--match").value_or("prefix");
    const std::string port_text = words.get("--port").value_or("443");

    if (protocol != "https" && protocol != "wss")
        invalid(fmt::format("--protocol: expected https or wss, not '{}'", protocol));
    if (match != "prefix" && match != "exact")
        invalid(fmt::format("--match: expected prefix or exact, not '{}'", match));
    unsigned long port = 0;
    if (port_text.empty() || port_text.size() > 5 ||
        port_text.find_first_not_of("0123456789") != std::string::npos ||
        (port = std::stoul(port_text)) == 0 || port > 65535)
        invalid(fmt::format("--port: expected a port number from 1 to 65535, not '{}'", port_text));
    try {
        al::normalize_rule_host(host);
    } catch (const al::RuleError& e) {
        invalid(fmt::format("--host: {}", e.what()));
    }
    try {
        al::normalize_rule_path(path);
    } catch (const al::RuleError& e) {
        invalid(fmt::format("--path: {}", e.what()));
    }
    auto method_list = nlohmann::json::array();
    std::size_t start = 0;
    while (start <= methods.size()) {
        const std::size_t comma = std::min(methods.find(',', start), methods.size());
        std::string method = methods.substr(start, comma - start);
        while (!method.empty() && method.front() == ' ') method.erase(0, 1);
        while (!method.empty() && method.back() == ' ') method.pop_back();
        if (!al::parse_method(method))
            invalid(
                fmt::format("--methods: '{}' is not a method (expected a comma-separated "
                            "list of GET, POST, PUT, HEAD, DELETE, OPTIONS, PATCH)",
                            printable(method)));
        method_list.push_back(method);
        start = comma + 1;
    }

    nlohmann::json value{{"protocol", protocol}, {"host", host}, {"port", port},
                         {"match", match},       {"path", path}, {"methods", method_list}};
    if (auto description = words.get("--description")) value["description"] = *description;
    try {
        return al::rule_from_json(value, "the new rule");
    } catch (const al::RuleError& e) {
        invalid(e.what());
    }
}

int add(Database& db, const Args& args, std::ostream& out) {
    const Words words = parse_words("add", args,
                                    {{"--protocol", true},
                                     {"--host", true},
                                     {"--port", true},
                                     {"--match", true},
                                     {"--path", true},
                                     {"--methods", true},
                                     {"--description", true}},
                                    0, 0);
    const al::Rule candidate = rule_from_options(words);
    const al::Rule rule = db.store().add(candidate, cli_actor());
    out << "added " << described(rule) << "\n";
    return kExitOk;
}

int remove(Database& db, const Args& args, std::ostream& out) {
    const Words words = parse_words("remove", args, {}, 1, 1);
    const std::string& text = words.positional.front();
    std::int64_t id = 0;
    if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != text.npos ||
        (id = std::stoll(text)) == 0)
        invalid(fmt::format("remove: expected a rule id (a positive number), not '{}'",
                            printable(text)));
    if (!db.store().remove(id, cli_actor()))
        throw Failure{kExitRefused, fmt::format("no editable rule #{}", id)};
    out << "removed #" << id << "\n";
    return kExitOk;
}

std::string plural(std::size_t n, std::string_view word) {
    return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}

int import_rules(Database& db, const Args& args, std::ostream& out) {
    const Words words = parse_words("import", args, {{"--merge", false}}, 1, 1);
    const std::string& file = words.positional.front();
    std::ifstream in(file, std::ios::binary);
    if (!in) invalid(fmt::format("cannot read {}: {}", file, std::strerror(errno)));
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (in.bad()) invalid(fmt::format("cannot read {}: {}", file, std::strerror(errno)));
    std::vector<al::Rule> rules;
    try {
        rules = al::parse_rule_file(text);
    } catch (const al::RuleError& e) {
        invalid(fmt::format("{}: {}", file, e.what()));
    }
    // What makes two rules the same permission (parse_rule_file already refuses a file that
    // lists one twice).
    auto same = [](const al::Rule& a, const al::Rule& b) {
        return a.protocol == b.protocol && a.host == b.host && a.port == b.port &&
               a.match == b.match && a.path == b.path && a.methods == b.methods;
    };

    al::RuleStorage& store = db.store();
    if (!words.has("--merge")) {
        store.replace_operator_rules(rules, cli_actor());
        out << "imported " << plural(rules.size(), "rule") << "\n";
        return kExitOk;
    }
    // Merge as one replace: existing rules keep their ids, the new ones are added, and the
    // change is one transaction and one audit entry. (A rule another process adds between the
    // read and the replace would be dropped; operators do not edit the list from two places
    // at the same second, and the audit log would show it.)
    std::vector<al::Rule> merged = store.operator_rules();
    std::size_t added = 0;
    for (const auto& rule : rules) {
        if (std::any_of(merged.begin(), merged.end(),
                        [&](const al::Rule& existing) { return same(existing, rule); }))
            continue;
        merged.push_back(rule);
        ++added;
    }
    if (added > 0) store.replace_operator_rules(merged, cli_actor());
    out << "imported " << plural(added, "rule");
    if (added < rules.size()) out << " (" << rules.size() - added << " already present)";
    out << "\n";
    return kExitOk;
}

int export_rules(Database& db, const Args& args, std::ostream& out) {
    const Words words = parse_words("export", args, {}, 0, 1);
    const auto rules = db.store().operator_rules();
    const std::string text = al::format_rule_file(rules);
    if (words.positional.empty()) {
        out << text;
        if (!text.empty() && text.back() != '\n') out << "\n";
        return kExitOk;
    }
    const std::string& file = words.positional.front();
    std::ofstream file_out(file, std::ios::binary | std::ios::trunc);
    file_out << text;
    if (!text.empty() && text.back() != '\n') file_out << "\n";
    file_out.close();
    if (!file_out)
        throw Failure{kExitRefused, fmt::format("cannot write {}: {}", file, std::strerror(errno))};
    out << "exported " << plural(rules.size(), "rule") << " to " << file << "\n";
    return kExitOk;
}

int test_url(Database& db, const Args& args, std::ostream& out) {
    const Words words =
        parse_words("test", args, {{"--method", true}, {"--websocket", false}}, 1, 1);
    const std::string& url = words.positional.front();
    const std::string method = words.get("--method").value_or("GET");

    bool websocket = words.has("--websocket");
    std::string_view rest;
    const auto scheme_end = url.find("://");
    const std::string scheme = scheme_end == std::string::npos ? "" : url.substr(0, scheme_end);
    if (scheme == "https") {
        rest = std::string_view(url).substr(scheme_end + 3);
    } else if (scheme == "wss") {
        rest = std::string_view(url).substr(scheme_end + 3);
        websocket = true;
    } else {
        invalid(fmt::format("test: expected an https:// or wss:// URL, not '{}'", printable(url)));
    }
    const auto authority_end = rest.find_first_of("/?#");
    const std::string host(rest.substr(0, authority_end));
    std::string target(authority_end == std::string_view::npos ? "" : rest.substr(authority_end));
    if (host.empty()) invalid(fmt::format("test: the URL '{}' has no host", printable(url)));
    if (host.find('@') != std::string::npos)
        invalid(fmt::format("test: the URL '{}' has user information", printable(url)));
    if (target.empty() || target.front() != '/') target = "/" + target;

    al::RequestHead head;
    head.method = method;
    head.target = target;
    head.host = host;
    head.websocket = websocket;
    head.check_sni = false;
    const al::Normalized normalized = al::normalize(head);
    if (const auto* refusal = std::get_if<al::Refusal>(&normalized)) {
        out << "refused (" << refusal->status << "): " << refusal->reason << "\n";
        return kExitRefused;
    }
    const al::CompiledRules rules(db.store().rule_set());
    const al::Decision decision = rules.check(std::get<al::NormalizedRequest>(normalized));
    if (decision.allowed && decision.rule) {
        out << "allowed by " << described(*decision.rule) << "\n";
        return kExitOk;
    }
    out << "refused (403): " << decision.reason << "\n";
    return kExitRefused;
}

int run(const std::vector<std::string>& args, std::ostream& out) {
    // Options before the command choose the database.
    std::optional<std::string> config, state_dir;
    auto it = args.begin();
    for (; it != args.end() && it->size() > 1 && it->front() == '-'; ++it) {
        if (*it == "--help" || *it == "-h") throw HelpRequested{};
        if (*it != "--config" && *it != "--state-dir") usage_error("unknown option " + *it);
        auto& slot = *it == "--config" ? config : state_dir;
        if (slot) usage_error(*it + " given twice");
        if (it + 1 == args.end()) usage_error(*it + " needs a value");
        slot = *++it;
    }
    if (config && state_dir) usage_error("--config and --state-dir exclude each other");
    if (it == args.end()) usage_error("no command given");
    const std::string command = *it++;
    using Handler = int (*)(Database&, const Args&, std::ostream&);
    Handler handler = nullptr;
    if (command == "list")
        handler = &list;
    else if (command == "add")
        handler = &add;
    else if (command == "remove")
        handler = &remove;
    else if (command == "import")
        handler = &import_rules;
    else if (command == "export")
        handler = &export_rules;
    else if (command == "test")
        handler = &test_url;
    else
        usage_error(fmt::format("unknown command '{}'", command));

    fs::path directory = kDefaultStateDirectory;
    state::Config backend;
    if (state_dir) {
        directory = *state_dir;
    } else if (config) {
        try {
            const auto core = proxy::load_core_config(*config);
            directory = core.state_directory;
            backend = core.state;
        } catch (const proxy::ConfigError& e) {
            invalid(e.what());
        }
    }
    Database db(directory / al::kRuleDatabaseFile, backend);
    try {
        return handler(db, Args(it, args.end()), out);
    } catch (const state::Unavailable& e) {
        const bool changes = command == "add" || command == "remove" || command == "import";
        throw Failure{kExitRefused, e.what() + std::string(changes ? "; nothing was changed" : "")};
    }
}

}  // namespace

int run_allowlist_command(const std::vector<std::string>& args, std::ostream& out,
                          std::ostream& err) {
    try {
        return run(args, out);
    } catch (const HelpRequested&) {
        out << kUsage;
        return kExitOk;
    } catch (const Failure& failure) {
        err << "edgeway allowlist: " << failure.message << "\n";
        return failure.code;
    } catch (const al::StoreError& e) {
        err << "edgeway allowlist: " << e.what() << "\n";
        return kExitRefused;
    } catch (const std::exception& e) {
        err << "edgeway allowlist: " << e.what() << "\n";
        return kExitRefused;
    }
}

}  // namespace edgeway::app
