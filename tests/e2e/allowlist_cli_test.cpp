// `edgeway allowlist`: the real binary on a state directory of its own. Listing, adding,
// removing, import and export, testing URLs against the rules, and the errors an operator sees.
#include "tests/e2e/e2e.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

using namespace edgeway::test;
namespace fs = std::filesystem;

namespace {

// Runs `edgeway allowlist --state-dir STATE ...`; each run logs to a file of its own.
class AllowlistCli {
  public:
    AllowlistCli(const TempDir& dir, fs::path state) : dir_(dir), state_(std::move(state)) {}

    RunResult run(std::vector<std::string> words) {
        words.insert(words.begin(), {"allowlist", "--state-dir", state_.string()});
        return run_raw(std::move(words));
    }
    // The words as given, after `edgeway`.
    RunResult run_raw(std::vector<std::string> words) {
        const auto log =
            dir_ / ("cli-" + state_.filename().string() + "-" + std::to_string(++runs_) + ".log");
        auto result = run_program(edgeway_binary(), words, log, 20s);
        UNSCOPED_INFO("edgeway " << join(words) << "\n" << result.output);
        return result;
    }
    // `list --json`, parsed.
    nlohmann::json list() {
        const auto result = run({"list", "--json"});
        REQUIRE(result.exit_code == 0);
        return nlohmann::json::parse(result.output);
    }
    // `export` to standard output.
    std::string exported() {
        const auto result = run({"export"});
        REQUIRE(result.exit_code == 0);
        return result.output;
    }
    const fs::path& state() const { return state_; }

  private:
    static std::string join(const std::vector<std::string>& words) {
        std::string text;
        for (const auto& word : words) text += (text.empty() ? "" : " ") + word;
        return text;
    }

    const TempDir& dir_;
    fs::path state_;
    int runs_ = 0;
};

// Every error is one line starting with the command's name.
void check_error_line(const std::string& output) {
    CHECK_THAT(output, StartsWith("edgeway allowlist: "));
    CHECK(std::count(output.begin(), output.end(), '\n') == 1);
}

const char* kRuleFile = R"({
  "rules": [
    {"description": "Reports API", "protocol": "https", "host": "join.example.com", "port": 443,
     "match": "prefix", "path": "/api/", "methods": ["GET", "POST"]},
    {"description": "Events", "protocol": "wss", "host": "join.example.com", "port": 8443,
     "match": "exact", "path": "/events", "methods": ["GET"]},
    {"protocol": "https", "host": "files.example.com", "port": 443,
     "match": "prefix", "path": "/download/", "methods": ["GET", "HEAD"]}
  ]
})";

}  // namespace

TEST_CASE("allowlist list on an empty state directory shows two empty sections",
          "[e2e][allowlist-cli]") {
    TempDir dir("edgeway-allowlist-cli");
    AllowlistCli cli(dir, dir / "state");
    const auto result = cli.run({"list"});
    REQUIRE(result.exit_code == 0);
    CHECK_THAT(result.output, Contains("Automatically added rules\n  (none)"));
    CHECK_THAT(result.output, Contains("Editable rules\n  (none)"));
    CHECK_THAT(result.output, !Contains("Guest account client URI"));
    CHECK(fs::exists(dir / "state" / "allowlist.db"));

    const auto json = cli.list();
    CHECK(json["version"] == 0);
    CHECK(json["automatic"] == nlohmann::json::array());
    CHECK(json["editable"] == nlohmann::json::array());
    CHECK(json["targets"] == nlohmann::json::array());
}

TEST_CASE("allowlist add then list shows the rule", "[e2e][allowlist-cli]") {
    TempDir dir("edgeway-allowlist-cli");
    AllowlistCli cli(dir, dir / "state");
    auto result = cli.run({"add", "--protocol", "https", "--host", "Join.Example.com.", "--path",
                           "/api/", "--methods", "GET,POST", "--description", "Reports API"});
    REQUIRE(result.exit_code == 0);
    CHECK(
        result.output ==
        "added #1 https join.example.com:443 prefix /api/ GET,POST (operator: \"Reports API\")\n");
    result = cli.run({"add", "--protocol", "wss", "--host", "join.example.com", "--port", "8443",
                      "--match", "exact", "--path", "/events", "--methods", "GET"});
    REQUIRE(result.exit_code == 0);
    CHECK_THAT(result.output, StartsWith("added #2 wss join.example.com:8443 exact /events GET"));

    result = cli.run({"list"});
    REQUIRE(result.exit_code == 0);
    CHECK_THAT(result.output, Contains("Rules version 2"));
    CHECK_THAT(result.output, Contains("Editable rules\nID  Description  Protocol  Host"));
    CHECK_THAT(result.output,
               Contains("1   Reports API  https     join.example.com  443   prefix  /api/    "
                        "GET,POST\n"));
    CHECK_THAT(
        result.output,
        Contains("2                wss       join.example.com  8443  exact   /events  GET\n"));

    const auto json = cli.list();
    CHECK(json["version"] == 2);
    REQUIRE(json["editable"].size() == 2);
    const auto& rule = json["editable"][0];
    CHECK(rule["id"] == 1);
    CHECK(rule["host"] == "join.example.com");
    CHECK(rule["path"] == "/api/");
    CHECK(rule["methods"] == nlohmann::json::array({"GET", "POST"}));
    CHECK(rule["origin"] == "operator");

    // The same permission again, whatever its description, is refused.
    result = cli.run({"add", "--protocol", "https", "--host", "join.example.com", "--path", "/api/",
                      "--methods", "POST,GET", "--description", "again"});
    CHECK(result.exit_code == 1);
    CHECK(result.output == "edgeway allowlist: an identical rule exists: #1\n");
}

TEST_CASE("allowlist add with bad input names the option and changes nothing",
          "[e2e][allowlist-cli]") {
    TempDir dir("edgeway-allowlist-cli");
    AllowlistCli cli(dir, dir / "state");
    const std::vector<std::string> good{"--protocol", "https", "--host",    "join.example.com",
                                        "--path",     "/api/", "--methods", "GET"};
    // Each case replaces (or drops) one option of a good command.
    const std::vector<std::pair<std::string, std::string>> cases{
        {"--methods", "GET,FETCH"}, {"--methods", "get"},      {"--methods", ""},
        {"--protocol", "http"},     {"--port", "70000"},       {"--port", "x"},
        {"--match", "regex"},       {"--path", "api"},         {"--path", "/a/../../b"},
        {"--host", "bad host"},     {"--description", "a\tb"}, {"--host", ""}};
    for (const auto& [option, value] : cases) {
        std::vector<std::string> words{"add"};
        bool replaced = false;
        for (std::size_t i = 0; i < good.size(); i += 2) {
            words.push_back(good[i]);
            words.push_back(good[i] == option ? value : good[i + 1]);
            replaced |= good[i] == option;
        }
        if (!replaced) words.insert(words.end(), {option, value});
        const auto result = cli.run(words);
        INFO(option << " " << value);
        CHECK(result.exit_code == 2);
        check_error_line(result.output);
        if (option != "--description")
            CHECK_THAT(result.output, Contains(option));
        else
            CHECK_THAT(result.output, Contains("description"));
    }

    auto result = cli.run({"add", "--protocol", "https", "--path", "/", "--methods", "GET"});
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.output, Contains("--host is required"));
    result = cli.run({"add", "--protocol", "https", "--host", "a.example.com", "--path", "/",
                      "--methods", "GET", "--colour", "red"});
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.output, Contains("unknown option --colour"));

    CHECK(cli.list()["version"] == 0);
    CHECK(cli.list()["editable"].empty());
}

TEST_CASE("allowlist remove removes an existing rule and reports an unknown one",
          "[e2e][allowlist-cli]") {
    TempDir dir("edgeway-allowlist-cli");
    AllowlistCli cli(dir, dir / "state");
    for (const char* host : {"a.example.com", "b.example.com"})
        REQUIRE(cli.run({"add", "--protocol", "https", "--host", host, "--path", "/", "--methods",
                         "GET"})
                    .exit_code == 0);
    auto result = cli.run({"remove", "1"});
    CHECK(result.exit_code == 0);
    CHECK(result.output == "removed #1\n");
    result = cli.run({"remove", "1"});
    CHECK(result.exit_code == 1);
    CHECK(result.output == "edgeway allowlist: no editable rule #1\n");
    result = cli.run({"remove", "one"});
    CHECK(result.exit_code == 2);
    check_error_line(result.output);
    result = cli.run({"remove"});
    CHECK(result.exit_code == 2);
    check_error_line(result.output);

    const auto json = cli.list();
    REQUIRE(json["editable"].size() == 1);
    CHECK(json["editable"][0]["id"] == 2);
    CHECK(json["editable"][0]["host"] == "b.example.com");
    CHECK(json["version"] == 3);
}

TEST_CASE("allowlist export then import into another state directory gives the same rules",
          "[e2e][allowlist-cli]") {
    TempDir dir("edgeway-allowlist-cli");
    AllowlistCli first(dir, dir / "first");
    const auto source = dir.write("rules.json", kRuleFile);
    auto result = first.run({"import", source.string()});
    REQUIRE(result.exit_code == 0);
    CHECK(result.output == "imported 3 rules\n");
    const std::string exported = first.exported();
    CHECK_THAT(exported, Contains("\"Reports API\""));
    CHECK_THAT(exported, !Contains("\"id\""));

    const auto file = dir / "exported.json";
    result = first.run({"export", file.string()});
    REQUIRE(result.exit_code == 0);
    CHECK(read_file(file) == exported);

    AllowlistCli second(dir, dir / "second");
    result = second.run({"import", file.string()});
    REQUIRE(result.exit_code == 0);
    CHECK(result.output == "imported 3 rules\n");
    CHECK(second.exported() == exported);
    CHECK(second.list()["editable"] == first.list()["editable"]);

    // Importing the same file again changes nothing, not even the version.
    const auto version = second.list()["version"];
    REQUIRE(second.run({"import", file.string()}).exit_code == 0);
    CHECK(second.list()["version"] == version);
    CHECK(second.list()["editable"] == first.list()["editable"]);
}

TEST_CASE("allowlist import refuses a file with one invalid entry and keeps the rules",
          "[e2e][allowlist-cli]") {
    TempDir dir("edgeway-allowlist-cli");
    AllowlistCli cli(dir, dir / "state");
    REQUIRE(cli.run({"import", dir.write("rules.json", kRuleFile).string()}).exit_code == 0);
    const std::string before = cli.exported();
    const auto version = cli.list()["version"];

    const auto bad = dir.write("bad.json", R"({"rules": [
      {"protocol": "https", "host": "a.example.com", "port": 443, "match": "prefix",
       "path": "/", "methods": ["GET"]},
      {"description": "Broken", "protocol": "https", "host": "b.example.com", "port": 443,
       "match": "prefix", "path": "/", "methods": ["FETCH"]},
      {"protocol": "https", "host": "c.example.com", "port": 443, "match": "prefix",
       "path": "/", "methods": ["GET"]}
    ]})");
    for (const bool merge : {false, true}) {
        std::vector<std::string> words{"import", bad.string()};
        if (merge) words.push_back("--merge");
        const auto result = cli.run(words);
        CHECK(result.exit_code == 2);
        check_error_line(result.output);
        CHECK_THAT(result.output, Contains(bad.string()));
        CHECK_THAT(result.output, Contains("rule 2"));
        CHECK_THAT(result.output, Contains("methods"));
        CHECK(cli.exported() == before);
        CHECK(cli.list()["version"] == version);
    }

    auto result = cli.run({"import", (dir / "missing.json").string()});
    CHECK(result.exit_code == 2);
    check_error_line(result.output);
    CHECK_THAT(result.output, Contains("missing.json"));
    result = cli.run({"import", dir.write("syntax.json", "{\"rules\": [").string()});
    CHECK(result.exit_code == 2);
    check_error_line(result.output);
    CHECK(cli.exported() == before);
}

TEST_CASE("allowlist import --merge adds the rules not already present", "[e2e][allowlist-cli]") {
    TempDir dir("edgeway-allowlist-cli");
    AllowlistCli cli(dir, dir / "state");
    REQUIRE(cli.run({"add", "--protocol", "https", "--host", "join.example.com", "--path", "/api/",
                     "--methods", "GET,POST", "--description", "mine"})
                .exit_code == 0);
    REQUIRE(cli.run({"add", "--protocol", "https", "--host", "own.example.com", "--path", "/",
                     "--methods", "GET"})
                .exit_code == 0);
    const auto result = cli.run({"import", dir.write("rules.json", kRuleFile).string(), "--merge"});
    REQUIRE(result.exit_code == 0);
    CHECK(result.output == "imported 2 rules (1 already present)\n");
    const auto rules = cli.list()["editable"];
    REQUIRE(rules.size() == 4);
    // The rules already there keep their ids and descriptions.
    CHECK(rules[0]["id"] == 1);
    CHECK(rules[0]["description"] == "mine");
    CHECK(rules[1]["id"] == 2);
    CHECK(rules[1]["host"] == "own.example.com");
    CHECK(rules[2]["path"] == "/events");
    CHECK(rules[3]["host"] == "files.example.com");
}

TEST_CASE("allowlist test tells which rule allows a URL, or why it is refused",
          "[e2e][allowlist-cli]") {
    TempDir dir("edgeway-allowlist-cli");
    AllowlistCli cli(dir, dir / "state");
    REQUIRE(cli.run({"add", "--protocol", "https", "--host", "localhost", "--path", "/api/",
                     "--methods", "GET,POST", "--description", "API"})
                .exit_code == 0);
    const std::string rule = "#1 https localhost:443 prefix /api/ GET,POST (operator: \"API\")";

    auto result = cli.run({"test", "https://localhost/api/reports?year=2026"});
    CHECK(result.exit_code == 0);
    CHECK(result.output == "allowed by " + rule + "\n");
    result = cli.run({"test", "https://LOCALHOST:443/api/x", "--method", "POST"});
    CHECK(result.exit_code == 0);
    CHECK(result.output == "allowed by " + rule + "\n");

    result = cli.run({"test", "https://localhost/admin"});
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.output, StartsWith("refused (403): "));
    result = cli.run({"test", "https://localhost/api/x", "--method", "DELETE"});
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.output, StartsWith("refused (403): "));
    CHECK_THAT(result.output, Contains("DELETE"));
    result = cli.run({"test", "https://localhost:8443/api/x"});
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.output, StartsWith("refused (403): "));
    result = cli.run({"test", "https://localhost/api/x", "--method", "TRACE"});
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.output, StartsWith("refused (405): "));

    // A dot segment hidden by percent-encoding is refused before any rule is looked at.
    result = cli.run({"test", "https://localhost/a/%2e%2e/admin"});
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.output, StartsWith("refused (400): "));
    // A plain one is resolved first: /api/../admin is /admin.
    result = cli.run({"test", "https://localhost/api/../admin"});
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.output, StartsWith("refused (403): "));

    // An https rule does not allow WebSocket upgrades.
    result = cli.run({"test", "https://localhost/api/socket", "--websocket"});
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.output, StartsWith("refused (403): "));
    result = cli.run({"test", "wss://localhost/api/socket"});
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.output, StartsWith("refused (403): "));
    REQUIRE(cli.run({"add", "--protocol", "wss", "--host", "localhost", "--path", "/api/socket",
                     "--match", "exact", "--methods", "GET"})
                .exit_code == 0);
    result = cli.run({"test", "wss://localhost/api/socket"});
    CHECK(result.exit_code == 0);
    CHECK(result.output == "allowed by #2 wss localhost:443 exact /api/socket GET (operator)\n");

    result = cli.run({"test", "ftp://localhost/api/"});
    CHECK(result.exit_code == 2);
    check_error_line(result.output);
}

TEST_CASE("allowlist --config uses the core configuration's state directory",
          "[e2e][allowlist-cli]") {
    TempDir dir("edgeway-allowlist-cli");
    const auto config = dir.write("core.json", R"({
      // relative paths are relative to this file
      "join_url": "https://join.example.com/",
      "state_directory": "core-state",
      "edges": [{"address": "edge1.example.com:7443"}],
      "link_tls": {"certificate": "core.pem", "private_key": "core.key", "edge_ca": "ca.pem"}
    })");
    AllowlistCli cli(dir, dir / "core-state");
    auto result =
        cli.run_raw({"allowlist", "--config", config.string(), "add", "--protocol", "https",
                     "--host", "join.example.com", "--path", "/", "--methods", "GET"});
    REQUIRE(result.exit_code == 0);
    CHECK(fs::exists(dir / "core-state" / "allowlist.db"));
    CHECK(cli.list()["editable"].size() == 1);

    const auto broken = dir.write("broken.json", R"({"join_url": 7})");
    result = cli.run_raw({"allowlist", "--config", broken.string(), "list"});
    CHECK(result.exit_code == 2);
    check_error_line(result.output);
    CHECK_THAT(result.output, Contains("broken.json"));
    CHECK_THAT(result.output, Contains("join_url"));
}

TEST_CASE("allowlist usage errors, help and database errors", "[e2e][allowlist-cli]") {
    TempDir dir("edgeway-allowlist-cli");
    AllowlistCli cli(dir, dir / "state");
    auto result = cli.run_raw({"allowlist", "--help"});
    CHECK(result.exit_code == 0);
    CHECK_THAT(result.output, StartsWith("usage: edgeway allowlist"));
    result = cli.run({"add", "--help"});
    CHECK(result.exit_code == 0);
    CHECK_THAT(result.output, StartsWith("usage: edgeway allowlist"));
    result = cli.run_raw({"--help"});
    CHECK_THAT(result.output, Contains("allowlist"));

    for (const std::vector<std::string>& words :
         {std::vector<std::string>{"allowlist"},
          {"allowlist", "frobnicate"},
          {"allowlist", "--verbose", "list"},
          {"allowlist", "--state-dir"},
          {"allowlist", "--state-dir", "a", "--config", "b", "list"},
          {"allowlist", "--state-dir", (dir / "state").string(), "list", "--yaml"},
          {"allowlist", "--state-dir", (dir / "state").string(), "list", "extra"}}) {
        result = cli.run_raw(words);
        CHECK(result.exit_code == 2);
        check_error_line(result.output);
        CHECK_THAT(result.output, Contains("edgeway allowlist --help"));
    }
    CHECK_FALSE(fs::exists(dir / "state"));  // no usage error opened the database

    // A database that cannot be used: exit 1 and a message naming the file.
    const auto file = dir.write("broken/allowlist.db", std::string(4096, 'x'));
    AllowlistCli broken(dir, dir / "broken");
    result = broken.run({"list"});
    CHECK(result.exit_code == 1);
    check_error_line(result.output);
    CHECK_THAT(result.output, Contains(file.string()));
    CHECK_THAT(result.output, Contains("not an SQLite database"));
}
