// `edgeway backup` and `edgeway restore` through the real binary on running nodes: a backup
// taken while rules are being added is a consistent snapshot; restored into a fresh state
// directory it gives back the rules, the admin accounts (their old passwords log in) and the
// web proxy settings; restored into a running core, the edge serves the rules within a second;
// a corrupt backup changes nothing; an edge's TURN users come back, and its backup is refused
// on a core.
#include "tests/e2e/e2e.hpp"
#include "tests/support/admin_appliance.hpp"

#include <atomic>
#include <map>
#include <thread>

using namespace edgeway::test;
namespace fs = std::filesystem;

namespace {

constexpr const char* kAlicePassword = "alice's long admin password";
constexpr const char* kPassphrase = "the backups' long passphrase";

// `edgeway WORDS...`, logged to a file of its own and shown when a check fails.
RunResult run_edgeway(const Appliance& app, std::vector<std::string> words) {
    static std::atomic<int> runs{0};
    const auto log = app.dir() / ("cli-" + std::to_string(++runs) + ".log");
    auto result = run_program(edgeway_binary(), words, log, 30s);
    std::string line;
    for (const auto& word : words) line += " " + word;
    UNSCOPED_INFO("edgeway" << line << " (exit " << result.exit_code.value_or(-1) << ")\n"
                            << result.output);
    return result;
}

std::vector<std::string> add_rule(const Appliance& app, const std::string& path) {
    return {"allowlist",
            "--state-dir",
            (app.dir() / "core-state").string(),
            "add",
            "--protocol",
            "https",
            "--host",
            "localhost",
            "--port",
            std::to_string(app.https_port()),
            "--match",
            "exact",
            "--path",
            path,
            "--methods",
            "GET"};
}

// The editable rules' paths in a state directory, by id.
std::vector<std::string> editable_paths(const Appliance& app, const fs::path& state) {
    const auto listed =
        run_edgeway(app, {"allowlist", "--state-dir", state.string(), "list", "--json"});
    REQUIRE(listed.exit_code == 0);
    std::vector<std::string> paths;
    const json listing = json::parse(listed.output);
    for (const auto& rule : listing["editable"]) paths.push_back(rule["path"]);
    return paths;
}

// The bytes of the node's files: configurations, certificates and keys, databases (not their
// -wal and -shm, which a running node's readers write to).
std::map<std::string, std::string> node_files(const Appliance& app) {
    std::map<std::string, std::string> files;
    for (const auto& entry : fs::recursive_directory_iterator(app.dir().path())) {
        const std::string name = entry.path().lexically_relative(app.dir().path()).string();
        const auto extension = entry.path().extension();
        if (entry.is_regular_file() && (extension == ".json" || extension == ".pem" ||
                                        extension == ".key" || extension == ".db"))
            files[name] = read_file(entry.path());
    }
    return files;
}

ApplianceOptions unresolved_join_url() {
    ApplianceOptions options;
    // A join URL that does not resolve: no automatic rules, only the operator's.
    options.core_patch = {{"join_url", "https://join.edgeway.test/"}};
    return options;
}

}  // namespace

TEST_CASE(
    "a backup of a running core while rules are added is consistent, and restores "
    "rules, accounts and web proxy settings into a fresh state directory",
    "[e2e][backup]") {
    AdminApplianceOptions options;
    options.appliance = unresolved_join_url();
    AdminAppliance admin(options);
    Appliance& app = admin.app();
    {
        AdminClient core = admin.core_admin();
        REQUIRE(
            core.post_json("/api/v1/accounts", {{"name", "alice"}, {"password", kAlicePassword}})
                .status == 201);
        const json settings = {
            {"web_proxy",
             {{"enabled", true},
              {"join_urls", {"https://join.edgeway.test/", "https://meet.edgeway.test/"}}}}};
        REQUIRE(core.request(http::verb::put, "/api/v1/config", settings.dump()).status == 200);
    }

    // Rules keep being added through the CLI while the backup is taken.
    constexpr int kRules = 12;
    std::atomic<int> added{0}, failed{0};
    std::thread adder([&] {
        for (int i = 0; i < kRules; ++i) {
            const auto result =
                run_program(edgeway_binary(), add_rule(app, "/r" + std::to_string(i)),
                            app.dir() / "adder.log", 20s);
            (result.exit_code == 0 ? added : failed)++;
        }
    });
    REQUIRE(wait_until([&] { return added >= 3 || failed > 0; }, 10s));
    const auto backup = run_edgeway(app, {"backup", (app.dir() / "core.backup").string(),
                                          "--config", (app.dir() / "core-1.json").string()});
    const int added_at_backup = added;
    adder.join();
    REQUIRE(failed == 0);
    REQUIRE(backup.exit_code == 0);
    CHECK_THAT(backup.output, Contains("rule database"));
    CHECK_THAT(backup.output, Contains("account database"));
    CHECK_THAT(backup.output, Contains("private key"));

    // The snapshot opens and holds the rules in the order they were added, none missing.
    const auto snapshot = app.dir() / "snapshot";
    REQUIRE(run_edgeway(app, {"restore", (app.dir() / "core.backup").string(), "--state-dir",
                              snapshot.string(), "--role", "core"})
                .exit_code == 0);
    const auto paths = editable_paths(app, snapshot);
    CHECK(paths.size() >= 3);
    CHECK(static_cast<int>(paths.size()) <= added_at_backup + 1);
    for (std::size_t i = 0; i < paths.size(); ++i) CHECK(paths[i] == "/r" + std::to_string(i));

    // Into a fresh state directory: the core's whole state is back after a restart.
    app.stop_core();
    fs::remove_all(app.dir() / "core-state");
    const auto restored = run_edgeway(app, {"restore", (app.dir() / "core.backup").string(),
                                            "--config", (app.dir() / "core-1.json").string()});
    REQUIRE(restored.exit_code == 0);
    CHECK_THAT(restored.output, Contains("create    rule database"));
    CHECK_THAT(restored.output, Contains("unchanged private key"));
    CHECK_THAT(restored.output, Contains("systemctl reload edgeway-core"));
    app.start_core();
    TlsTarget target;
    target.port = port_of(app.core().require_log(AdminAppliance::kAdminListening, 15s));
    target.ca_file = app.ca_file();
    AdminClient alice(target);
    REQUIRE(alice.login("alice", kAlicePassword).status == 200);
    const json rules = json::parse(alice.get("/api/v1/rules").body);
    CHECK(rules["editable"].size() == paths.size());
    const json config = json::parse(alice.get("/api/v1/config").body);
    CHECK(config["web_proxy"]["join_urls"] ==
          json({"https://join.edgeway.test/", "https://meet.edgeway.test/"}));
    CHECK(config["web_proxy"]["source"] != "configuration file");
}

TEST_CASE(
    "restored into a running core, a backup's rules reach the edge within a second, and a "
    "corrupt backup or a dry run changes nothing",
    "[e2e][backup]") {
    Appliance app(unresolved_join_url());
    run_edgeway(app, add_rule(app, "/health"));
    REQUIRE(wait_until([&] { return https_get(app.target(), "/health").status == 200; }, 5s));
    app.dir().write("passphrase", std::string(kPassphrase) + "\n");
    const std::string config = (app.dir() / "core-1.json").string();
    const std::string backup_file = (app.dir() / "core.backup").string();
    REQUIRE(run_edgeway(app, {"backup", backup_file, "--config", config, "--passphrase-file",
                              (app.dir() / "passphrase").string()})
                .exit_code == 0);
    // And a plain one, whose restore is timed below without the key derivation in it.
    const std::string plain_file = (app.dir() / "core-plain.backup").string();
    REQUIRE(run_edgeway(app, {"backup", plain_file, "--config", config}).exit_code == 0);
    const auto id =
        json::parse(run_edgeway(app, {"allowlist", "--config", config, "list", "--json"})
                        .output)["editable"][0]["id"];
    REQUIRE(
        run_edgeway(app, {"allowlist", "--config", config, "remove", std::to_string(id.get<int>())})
            .exit_code == 0);
    REQUIRE(wait_until([&] { return https_get(app.target(), "/health").status == 403; }, 5s));

    const auto before = node_files(app);
    std::string corrupt = read_file(backup_file);
    corrupt[corrupt.size() / 2] ^= 0x01;
    app.dir().write("corrupt.backup", corrupt);
    const auto refused =
        run_edgeway(app, {"restore", (app.dir() / "corrupt.backup").string(), "--config", config,
                          "--passphrase-file", (app.dir() / "passphrase").string()});
    CHECK(refused.exit_code == 1);
    CHECK_THAT(refused.output, Contains("damaged file"));
    CHECK_THAT(refused.output, Contains("nothing was changed"));
    const auto dry = run_edgeway(app, {"restore", backup_file, "--config", config, "--dry-run",
                                       "--passphrase-file", (app.dir() / "passphrase").string()});
    CHECK(dry.exit_code == 0);
    CHECK_THAT(dry.output, Contains("replace   rule database"));
    // The core's TURN credentials (pushed to edges with pushed credentials) are its state too.
    CHECK_THAT(dry.output, Contains("replace   TURN credential database"));
    CHECK_THAT(dry.output, Contains("dry run: 2 items would be written; nothing was changed"));
    CHECK(node_files(app) == before);
    CHECK(https_get(app.target(), "/health").status == 403);
    CHECK(app.core().running());

    // From the start of the restore (verification included) to the edge serving the rule.
    const auto started = Clock::now();
    const auto restored = run_edgeway(app, {"restore", plain_file, "--config", config});
    REQUIRE(restored.exit_code == 0);
    CHECK_THAT(restored.output, Contains("pre-restore-"));
    CHECK(wait_until([&] { return https_get(app.target(), "/health").status == 200; }, 5s, 10ms));
    const double ms = elapsed_ms(started);
    INFO("the restored rule reached the edge " << ms << " ms after the restore started");
    CHECK(ms < 1000);
}

TEST_CASE("an edge's backup brings its TURN users back, and is refused on a core",
          "[e2e][backup]") {
    ApplianceOptions options;
    options.edge_patch = {{"state_directory", "edge-state"},
                          {"turn",
                           {{"udp_listen", {"127.0.0.1:0"}},
                            {"tcp_listen", json::array()},
                            {"relay_address", "127.0.0.1"},
                            {"realm", "edgeway.test"}}}};
    Appliance app(options);
    const std::string edge_config = (app.dir() / "edge.json").string();
    for (const char* user : {"alice", "bob"})
        REQUIRE(
            run_edgeway(app, {"turn", "user", "add", user, "--generate", "--config", edge_config})
                .exit_code == 0);
    const auto users = run_edgeway(app, {"turn", "user", "list", "--config", edge_config}).output;
    const std::string backup_file = (app.dir() / "edge.backup").string();
    REQUIRE(run_edgeway(app, {"backup", backup_file, "--config", edge_config}).exit_code == 0);
    REQUIRE(
        run_edgeway(app, {"turn", "user", "remove", "alice", "--config", edge_config}).exit_code ==
        0);

    const auto on_core = run_edgeway(
        app, {"restore", backup_file, "--config", (app.dir() / "core-1.json").string()});
    CHECK(on_core.exit_code == 1);
    CHECK_THAT(on_core.output,
               Contains("is a backup of an edge") && Contains("this node is a core"));

    const auto restored = run_edgeway(app, {"restore", backup_file, "--config", edge_config});
    REQUIRE(restored.exit_code == 0);
    CHECK_THAT(restored.output, Contains("replace   TURN credential database"));
    CHECK_THAT(restored.output, Contains("2 TURN users"));
    // The same users, with their original keys and dates.
    CHECK(run_edgeway(app, {"turn", "user", "list", "--config", edge_config}).output == users);
    CHECK(app.edge().running());
}
