// Unit tests of the SQLite rule store: ids, versions, the audit log, atomic replacement, the
// automatic rules, targets, persistence, two connections on one file and unusable files.
#include "tests/support/temp_dir.hpp"

#include "allowlist/allowlist.hpp"

#include <sqlite3.h>
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <regex>

using namespace edgeway;
using namespace edgeway::allowlist;
using Catch::Contains;
using Catch::StartsWith;
namespace fs = std::filesystem;

namespace {

Rule rule(std::string host, std::string path, MethodSet methods = method_bit(Method::GET),
          std::string description = "", Protocol protocol = Protocol::https) {
    Rule r;
    r.description = std::move(description);
    r.protocol = protocol;
    r.host = std::move(host);
    r.path = std::move(path);
    r.methods = methods;
    return r;
}

Rule automatic(std::string host, Protocol protocol) {
    Rule r = rule(std::move(host), "/",
                  method_bit(Method::GET) | method_bit(Method::POST) | method_bit(Method::PUT) |
                      method_bit(Method::HEAD) | method_bit(Method::DELETE),
                  "Meeting Server web bridges", protocol);
    r.origin = Origin::automatic;
    return r;
}

// The rule as the store returns it: with its id, an operator rule.
Rule stored(Rule r, std::int64_t id) {
    r.id = id;
    r.origin = Origin::operator_rule;
    return r;
}

const Actor kAlice{"cli:alice"};
const Actor kBob{"admin:bob from 192.0.2.7"};

std::string error_of(const std::function<void()>& action) {
    try {
        action();
    } catch (const StoreError& e) {
        return e.what();
    }
    return "(no StoreError)";
}

// A PRAGMA's value read with a connection of the test's own, to check what is on disk.
std::string pragma(const fs::path& file, const char* name) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    std::string value;
    sqlite3_stmt* stmt = nullptr;
    const std::string sql = std::string("PRAGMA ") + name;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
        value = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return value;
}

unsigned mode_of(const fs::path& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

bool is_timestamp(const std::string& text) {
    static const std::regex iso(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)");
    return std::regex_match(text, iso);
}

}  // namespace

TEST_CASE("a new store is empty, at rules version 0, schema version 1, private", "[store]") {
    test::TempDir dir("edgeway-store");
    const fs::path file = dir / "state" / "core" / kRuleDatabaseFile;
    {
        RuleStore store(file);
        CHECK(store.file() == file);
        CHECK(store.version() == 0);
        CHECK(store.operator_rules().empty());
        CHECK(store.automatic_rules().empty());
        CHECK(store.targets().empty());
        CHECK(store.audit().empty());
        const RuleSet set = store.rule_set();
        CHECK(set.version == 0);
        CHECK(set.rules.empty());
        CHECK_FALSE(store.changed_elsewhere());
    }
    CHECK(pragma(file, "user_version") == "1");
    CHECK(pragma(file, "journal_mode") == "wal");
    CHECK(mode_of(file) == 0600);
    CHECK(mode_of(dir / "state") == 0700);
    CHECK(mode_of(dir / "state" / "core") == 0700);
}

TEST_CASE("operator rules are added, listed and removed, and ids are never reused", "[store]") {
    test::TempDir dir("edgeway-store");
    const fs::path file = dir / kRuleDatabaseFile;
    const Rule api = rule("join.example.com", "/api/",
                          method_bit(Method::GET) | method_bit(Method::POST), "Reports API");
    const Rule exact = rule("join.example.com", "/status", method_bit(Method::HEAD), "Status");
    {
        RuleStore store(file);
        const Rule added = store.add(api, kAlice);
        CHECK(added == stored(api, 1));
        CHECK(store.add(exact, kAlice) == stored(exact, 2));
        CHECK(store.operator_rules() == std::vector<Rule>{stored(api, 1), stored(exact, 2)});

        CHECK(store.remove(2, kAlice));
        CHECK_FALSE(store.remove(2, kAlice));
        CHECK_FALSE(store.remove(99, kAlice));
        // The highest id was removed; AUTOINCREMENT still does not hand it out again.
        CHECK(store.add(exact, kAlice).id == 3);
        CHECK(store.remove(1, kAlice));
    }
    RuleStore reopened(file);
    CHECK(reopened.operator_rules() == std::vector<Rule>{stored(exact, 3)});
    CHECK(reopened.add(api, kAlice).id == 4);
}

TEST_CASE("rules read back equal what was stored, with origin and ids", "[store]") {
    test::TempDir dir("edgeway-store");
    RuleStore store(dir / kRuleDatabaseFile);
    Rule odd = rule("[::1]", "/a%20b/", 0xff >> 1, "ünïcode \"quoted\"\ttab", Protocol::wss);
    odd.port = 65535;
    odd.match = Match::exact;
    odd.origin = Origin::automatic;  // ignored by add: operator rules are operator rules
    odd.id = 77;                     // ignored too: the store assigns ids
    const Rule added = store.add(odd, kAlice);
    Rule expected = odd;
    expected.id = 1;
    expected.origin = Origin::operator_rule;
    CHECK(added == expected);
    CHECK(store.operator_rules() == std::vector<Rule>{expected});

    const std::vector<Rule> autos{automatic("join.example.com", Protocol::https),
                                  automatic("join.example.com", Protocol::wss)};
    REQUIRE(store.set_automatic_rules(autos));
    const auto read = store.automatic_rules();
    CHECK(read == autos);
    for (const auto& r : read) {
        CHECK(r.id == 0);
        CHECK(r.origin == Origin::automatic);
    }
    // The whole set: automatic rules first, then operator rules by id.
    const RuleSet set = store.rule_set();
    CHECK(set.version == 2);
    CHECK(set.rules == std::vector<Rule>{autos[0], autos[1], expected});
}

TEST_CASE("an identical operator rule is refused, whatever its description", "[store]") {
    test::TempDir dir("edgeway-store");
    RuleStore store(dir / kRuleDatabaseFile);
    const Rule api = rule("join.example.com", "/api/", method_bit(Method::GET), "one");
    store.add(api, kAlice);
    const auto version = store.version();
    const auto audited = store.audit().size();

    Rule same = api;
    same.description = "another description";
    CHECK(error_of([&] { store.add(same, kBob); }) == "an identical rule exists: #1");
    CHECK(store.version() == version);
    CHECK(store.audit().size() == audited);
    CHECK(store.operator_rules().size() == 1);

    // Any difference in what is allowed makes it a different rule.
    Rule other = api;
    other.methods |= method_bit(Method::POST);
    CHECK(store.add(other, kAlice).id == 2);
    other = api;
    other.match = Match::exact;
    CHECK(store.add(other, kAlice).id == 3);
    other = api;
    other.port = 8443;
    CHECK(store.add(other, kAlice).id == 4);
    other = api;
    other.protocol = Protocol::wss;
    CHECK(store.add(other, kAlice).id == 5);
}

TEST_CASE("the rules version moves only when the rules change", "[store]") {
    test::TempDir dir("edgeway-store");
    RuleStore store(dir / kRuleDatabaseFile);
    const Rule a = rule("a.example.com", "/");
    const Rule b = rule("b.example.com", "/");
    store.add(a, kAlice);
    CHECK(store.version() == 1);
    store.add(b, kAlice);
    CHECK(store.version() == 2);
    CHECK_FALSE(store.remove(42, kAlice));
    CHECK(store.version() == 2);
    CHECK(store.remove(2, kAlice));
    CHECK(store.version() == 3);

    // Replacing the rules with the same rules keeps the version (and the ids).
    store.replace_operator_rules({a}, kAlice);
    CHECK(store.version() == 3);
    CHECK(store.operator_rules() == std::vector<Rule>{stored(a, 1)});
    store.replace_operator_rules({a, b}, kAlice);
    CHECK(store.version() == 4);
    CHECK(store.operator_rules() == std::vector<Rule>{stored(a, 1), stored(b, 3)});

    const std::vector<Rule> autos{automatic("join.example.com", Protocol::https)};
    CHECK(store.set_automatic_rules(autos));
    CHECK(store.version() == 5);
    CHECK_FALSE(store.set_automatic_rules(autos));
    CHECK(store.version() == 5);
    CHECK(store.set_automatic_rules({}));
    CHECK(store.version() == 6);

    store.set_targets({{"https://join.example.com/",
                        {{"join.example.com", "10.0.0.5"}},
                        "",
                        "2026-11-25T10:41:03Z"}});
    CHECK(store.version() == 6);
    CHECK(store.rule_set().version == 6);
}

TEST_CASE("a restored rule set is numbered above the live one and the clock, and audited",
          "[store]") {
    test::TempDir dir("edgeway-store");
    RuleStore store(dir / kRuleDatabaseFile);
    store.add(rule("a.example.com", "/"), kAlice);
    const auto now_ms =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
    store.mark_restored(7, {"cli:root"}, "restored from core.backup");
    const std::uint64_t restored = store.version();
    CHECK(restored > now_ms);
    CHECK(restored < now_ms + 60'000);
    // A live database numbered beyond the clock (no edge may hold this number) is beaten too.
    store.mark_restored(restored + 1000, {"cli:root"}, "again");
    CHECK(store.version() == restored + 1001);
    const auto audit = store.audit(1);
    REQUIRE(audit.size() == 1);
    CHECK(audit[0].who == "cli:root");
    CHECK(audit[0].action == "state restored");
    CHECK_THAT(audit[0].detail, StartsWith("again (rules version "));
    CHECK(store.operator_rules().size() == 1);
}

TEST_CASE("every change of the rules writes one audit row in the same transaction", "[store]") {
    test::TempDir dir("edgeway-store");
    RuleStore store(dir / kRuleDatabaseFile);
    const Rule a = store.add(rule("a.example.com", "/api/", method_bit(Method::GET), "A"), kAlice);
    const Rule b = store.add(rule("b.example.com", "/", method_bit(Method::POST), "B"), kBob);
    REQUIRE(store.remove(a.id, kBob));
    const Rule c = rule("c.example.com", "/c", method_bit(Method::PUT), "C");
    store.replace_operator_rules({b, c}, kAlice);

    const auto audit = store.audit();
    REQUIRE(audit.size() == 4);
    // Newest first.
    CHECK(audit[3].who == "cli:alice");
    CHECK(audit[3].action == "rule added");
    CHECK(audit[3].detail == a.describe());
    CHECK(audit[2].who == "admin:bob from 192.0.2.7");
    CHECK(audit[2].action == "rule added");
    CHECK(audit[2].detail == b.describe());
    CHECK(audit[1].who == "admin:bob from 192.0.2.7");
    CHECK(audit[1].action == "rule removed");
    CHECK(audit[1].detail == a.describe());
    CHECK(audit[0].who == "cli:alice");
    CHECK(audit[0].action == "rules imported");
    // b stays as it was (same id), c is new.
    CHECK_THAT(audit[0].detail, Contains("added: " + stored(c, 3).describe()));
    CHECK_THAT(audit[0].detail, !Contains("removed:"));
    for (std::size_t i = 0; i < audit.size(); ++i) {
        INFO(i);
        CHECK(is_timestamp(audit[i].at));
        if (i > 0) CHECK(audit[i - 1].id > audit[i].id);
    }
    CHECK(store.audit(2).size() == 2);
    CHECK(store.audit(2)[0].id == audit[0].id);
}

TEST_CASE("a replacement that fails halfway leaves the previous rules", "[store]") {
    test::TempDir dir("edgeway-store");
    RuleStore store(dir / kRuleDatabaseFile);
    const Rule a = store.add(rule("a.example.com", "/", method_bit(Method::GET), "A"), kAlice);
    const Rule b = store.add(rule("b.example.com", "/", method_bit(Method::GET), "B"), kAlice);
    const auto version = store.version();
    const auto audited = store.audit().size();

    // The third rule allows the same as the first: the unique index refuses it after a and b
    // were already deleted and the first new rule inserted inside the transaction.
    const Rule x = rule("x.example.com", "/x/", method_bit(Method::GET), "X");
    const Rule y = rule("y.example.com", "/", method_bit(Method::GET), "Y");
    Rule x_again = x;
    x_again.description = "X again";
    const std::string error = error_of([&] {
        store.replace_operator_rules({x, y, x_again}, kBob);
    });
    CHECK_THAT(error, Contains(store.file().string()));
    CHECK_THAT(error, Contains("rule 3"));
    CHECK(store.operator_rules() == std::vector<Rule>{a, b});
    CHECK(store.version() == version);
    CHECK(store.audit().size() == audited);

    // A rule that could never be stored is refused before anything is written.
    Rule no_methods = y;
    no_methods.methods = 0;
    CHECK_THROWS_AS(store.replace_operator_rules({x, no_methods}, kBob), StoreError);
    CHECK(store.operator_rules() == std::vector<Rule>{a, b});

    // The store is still usable; the rolled-back ids were never visible, so handing them out
    // now breaks no promise.
    store.replace_operator_rules({x, y}, kBob);
    const auto rules = store.operator_rules();
    REQUIRE(rules.size() == 2);
    CHECK(rules[0].id > b.id);
    CHECK(store.version() == version + 1);
}

TEST_CASE("set_automatic_rules writes nothing when the rules are the same", "[store]") {
    test::TempDir dir("edgeway-store");
    const fs::path file = dir / kRuleDatabaseFile;
    RuleStore store(file);
    RuleStore other(file);
    const Rule https = automatic("join.example.com", Protocol::https);
    const Rule wss = automatic("join.example.com", Protocol::wss);

    CHECK(store.set_automatic_rules({https, wss}));
    CHECK(other.changed_elsewhere());
    auto audit = store.audit();
    REQUIRE(audit.size() == 1);
    CHECK(audit[0].who == "system");
    CHECK(audit[0].action == "automatic rules");
    CHECK(audit[0].detail == "added: " + https.describe() + "\nadded: " + wss.describe());

    // Same rules, even given as operator rules with ids: nothing to do, nothing written.
    Rule https_as_given = https;
    https_as_given.id = 5;
    https_as_given.origin = Origin::operator_rule;
    CHECK_FALSE(store.set_automatic_rules({https_as_given, wss}));
    CHECK_FALSE(other.changed_elsewhere());
    CHECK(store.audit().size() == 1);
    CHECK(store.version() == 1);

    const Rule second = automatic("join2.example.com", Protocol::https);
    CHECK(store.set_automatic_rules({https, second}));
    audit = store.audit();
    REQUIRE(audit.size() == 2);
    CHECK(audit[0].who == "system");
    CHECK(audit[0].detail == "added: " + second.describe() + "\nremoved: " + wss.describe());
    CHECK(store.automatic_rules() == std::vector<Rule>{https, second});
    CHECK(store.version() == 2);
}

TEST_CASE("targets are stored and read back as a whole", "[store]") {
    test::TempDir dir("edgeway-store");
    const fs::path file = dir / kRuleDatabaseFile;
    const std::vector<TargetStatus> targets{
        {"https://join.example.com/",
         {{"join.example.com", "10.48.36.5"}, {"wb1.example.com", "10.48.36.6:9443"}},
         "",
         "2026-11-25T10:41:03Z"},
        {"https://gone.example.com/", {}, "", "2026-11-25T10:41:04Z"},
        {"https://flaky.example.com:8443/", {}, "DNS server timed out", "2026-11-25T10:41:05Z"}};
    {
        RuleStore store(file);
        store.set_targets(targets);
        const auto read = store.targets();
        REQUIRE(read.size() == targets.size());
        for (std::size_t i = 0; i < read.size(); ++i) {
            INFO(i);
            CHECK(read[i].uri == targets[i].uri);
            CHECK(read[i].targets == targets[i].targets);
            CHECK(read[i].error == targets[i].error);
            CHECK(read[i].checked_at == targets[i].checked_at);
        }
        CHECK(store.audit().empty());  // status, not a rule change
    }
    RuleStore store(file);
    CHECK(store.targets().size() == 3);
    store.set_targets({targets[1]});
    const auto read = store.targets();
    REQUIRE(read.size() == 1);
    CHECK(read[0].uri == "https://gone.example.com/");
    CHECK(read[0].targets.empty());

    // A URI twice is refused whole: the previous targets stay.
    CHECK_THROWS_AS(store.set_targets({targets[0], targets[0]}), StoreError);
    CHECK(store.targets().size() == 1);
}

TEST_CASE("everything persists across reopening", "[store]") {
    test::TempDir dir("edgeway-store");
    const fs::path file = dir / kRuleDatabaseFile;
    RuleSet before;
    std::vector<AuditEntry> audit_before;
    {
        RuleStore store(file);
        store.add(rule("a.example.com", "/api/", method_bit(Method::GET), "A"), kAlice);
        store.set_automatic_rules({automatic("join.example.com", Protocol::https)});
        store.set_targets({{"https://join.example.com/",
                            {{"join.example.com", "10.0.0.1"}},
                            "",
                            "2026-11-25T10:41:03Z"}});
        before = store.rule_set();
        audit_before = store.audit();
    }
    RuleStore store(file);
    const RuleSet after = store.rule_set();
    CHECK(after.version == before.version);
    CHECK(after.rules == before.rules);
    CHECK(store.targets().size() == 1);
    const auto audit_after = store.audit();
    REQUIRE(audit_after.size() == audit_before.size());
    for (std::size_t i = 0; i < audit_after.size(); ++i) {
        CHECK(audit_after[i].id == audit_before[i].id);
        CHECK(audit_after[i].detail == audit_before[i].detail);
    }
    CHECK_FALSE(store.changed_elsewhere());
}

TEST_CASE("two stores on one file see each other's changes", "[store]") {
    test::TempDir dir("edgeway-store");
    const fs::path file = dir / kRuleDatabaseFile;
    RuleStore core(file);
    RuleStore cli(file);  // opening an up-to-date file is no change for the other
    CHECK_FALSE(core.changed_elsewhere());
    CHECK_FALSE(cli.changed_elsewhere());

    const Rule added = cli.add(rule("a.example.com", "/"), kAlice);
    CHECK_FALSE(cli.changed_elsewhere());  // its own change
    CHECK(core.changed_elsewhere());
    CHECK_FALSE(core.changed_elsewhere());  // reported once
    CHECK(core.operator_rules() == std::vector<Rule>{added});
    CHECK(core.version() == 1);

    core.set_automatic_rules({automatic("join.example.com", Protocol::wss)});
    CHECK(cli.changed_elsewhere());
    CHECK(cli.rule_set().rules.size() == 2);

    // Ids come from the file, not the connection.
    CHECK(core.add(rule("b.example.com", "/"), kBob).id == 2);
    CHECK(cli.add(rule("c.example.com", "/"), kAlice).id == 3);
    CHECK(cli.remove(2, kAlice));
    CHECK_FALSE(core.remove(2, kBob));
    CHECK(core.changed_elsewhere());
    CHECK(core.version() == cli.version());
}

TEST_CASE("a file that is not a rule database is refused with its name", "[store]") {
    test::TempDir dir("edgeway-store");
    SECTION("text") {
        const fs::path file = dir.write("allowlist.db", std::string(4096, 'x'));
        const std::string error = error_of([&] { RuleStore store(file); });
        CHECK_THAT(error, StartsWith(file.string() + ": "));
        CHECK_THAT(error, Contains("not an SQLite database"));
    }
    SECTION("a damaged SQLite file") {
        const fs::path file = dir / "allowlist.db";
        {
            RuleStore store(file);
            for (int i = 0; i < 50; ++i)
                store.add(rule("h" + std::to_string(i) + ".example.com", "/"), kAlice);
        }
        // Keep the header, overwrite the pages after the first with garbage.
        {
            std::fstream damage(file, std::ios::in | std::ios::out | std::ios::binary);
            damage.seekp(4096);
            const std::string garbage(3 * 4096, '\xa5');
            damage.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
        }
        const std::string error = error_of([&] {
            RuleStore store(file);
            store.operator_rules();
        });
        CHECK_THAT(error, StartsWith(file.string() + ": "));
        CHECK_THAT(error, Contains("corrupt") || Contains("not an SQLite database"));
    }
    SECTION("another application's SQLite database") {
        const fs::path file = dir / "other.db";
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
        REQUIRE(sqlite3_exec(db, "CREATE TABLE photos (id INTEGER)", nullptr, nullptr, nullptr) ==
                SQLITE_OK);
        sqlite3_close(db);
        const std::string error = error_of([&] { RuleStore store(file); });
        CHECK_THAT(error, StartsWith(file.string() + ": "));
        CHECK_THAT(error, Contains("not an edgeway rule database"));
    }
    SECTION("a newer schema") {
        const fs::path file = dir / "newer.db";
        { RuleStore store(file); }
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
        REQUIRE(sqlite3_exec(db, "PRAGMA user_version = 9", nullptr, nullptr, nullptr) ==
                SQLITE_OK);
        sqlite3_close(db);
        const std::string error = error_of([&] { RuleStore store(file); });
        CHECK_THAT(error, StartsWith(file.string() + ": "));
        CHECK_THAT(error, Contains("schema version 9"));
    }
    SECTION("a directory in the way") {
        const fs::path file = dir / "allowlist.db";
        fs::create_directory(file);
        const std::string error = error_of([&] { RuleStore store(file); });
        CHECK_THAT(error, StartsWith(file.string() + ": "));
    }
}

TEST_CASE("web proxy settings are absent until set, then stored, versioned and audited",
          "[store]") {
    test::TempDir dir("edgeway-store");
    const fs::path file = dir / "allowlist.db";
    RuleStore store(file);
    CHECK_FALSE(store.web_proxy());
    const auto version = store.version();

    WebProxySettings settings;
    settings.enabled = false;
    settings.join_urls = {"https://join.example.com/", "https://meet.example.com:8443/"};
    store.set_web_proxy(settings, kAlice);
    REQUIRE(store.web_proxy());
    CHECK(*store.web_proxy() == settings);
    // The edges must apply the change (disabled: an empty list), so the rules version moves.
    CHECK(store.version() == version + 1);
    const auto audit = store.audit(1);
    REQUIRE(audit.size() == 1);
    CHECK(audit[0].who == kAlice.name);
    CHECK(audit[0].action == "web proxy settings");
    CHECK_THAT(audit[0].detail, Contains("disabled") && Contains("https://meet.example.com:8443/"));

    // Another connection (the running core) reads the same.
    RuleStore other(file);
    CHECK(other.web_proxy() == settings);
}

TEST_CASE("web proxy settings with an invalid join URI are refused naming it, and change nothing",
          "[store]") {
    test::TempDir dir("edgeway-store");
    RuleStore store(dir / "allowlist.db");
    WebProxySettings settings;
    settings.join_urls = {"https://join.example.com/", "ftp://files.example.com/"};
    const auto version = store.version();
    try {
        store.set_web_proxy(settings, kAlice);
        FAIL("accepted an ftp:// join URI");
    } catch (const RuleError& e) {
        CHECK_THAT(e.what(), StartsWith("field \"join_urls[1]\": "));
    }
    CHECK_FALSE(store.web_proxy());
    CHECK(store.version() == version);
}
