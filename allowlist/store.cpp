// The rule store: one SQLite file in the core's state directory, shared by the running core and
// the `edgeway allowlist` CLI. WAL lets the CLI write while the core reads; every change is one
// BEGIN IMMEDIATE transaction that also bumps the version and writes the audit row, so the
// version, the rules and the audit log can never disagree.
#include "allowlist/allowlist.hpp"
#include "common/private_files.hpp"

#include <fmt/format.h>
#include <sqlite3.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <limits>
#include <map>
#include <system_error>
#include <tuple>

namespace edgeway::allowlist {

namespace {

namespace fs = std::filesystem;

constexpr int kSchemaVersion = 1;
constexpr int kBusyTimeoutMs = 5000;

// ISO-8601 UTC with seconds, the form of every timestamp in the database.
std::string now_utc() {
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

// A StoreError naming the file, what was being done and what SQLite said. The common ways an
// existing file can be unusable get a message an operator can act on.
[[noreturn]] void fail(const fs::path& file, sqlite3* db, int code, std::string_view doing) {
    const int primary = code & 0xff;
    if (primary == SQLITE_NOTADB)
        throw StoreError(fmt::format(
            "{}: not an SQLite database (the file is corrupt or of another kind)", file.string()));
    if (primary == SQLITE_CORRUPT)
        throw StoreError(fmt::format("{}: the database is corrupt ({}) while {}", file.string(),
                                     db ? sqlite3_errmsg(db) : sqlite3_errstr(code), doing));
    throw StoreError(fmt::format("{}: {}: {}", file.string(), doing,
                                 db ? sqlite3_errmsg(db) : sqlite3_errstr(code)));
}

struct CloseDb {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbHandle = std::unique_ptr<sqlite3, CloseDb>;

// One prepared statement. Errors throw StoreError naming the file and the task.
class Statement {
  public:
    Statement(const fs::path& file, sqlite3* db, std::string_view sql, std::string_view doing)
        : file_(file), db_(db), doing_(doing) {
        const int rc =
            sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
        if (rc != SQLITE_OK) fail(file_, db_, rc, doing_);
    }
    ~Statement() { sqlite3_finalize(stmt_); }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& bind(int index, std::int64_t value) {
        check(sqlite3_bind_int64(stmt_, index, value));
        return *this;
    }
    Statement& bind(int index, std::string_view value) {
        check(sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()),
                                SQLITE_TRANSIENT));
        return *this;
    }

    // True when a row is available; false when the statement is done.
    bool step() {
        const int rc = sqlite3_step(stmt_);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        fail(file_, db_, rc, doing_);
    }
    void run() {
        while (step()) {
        }
    }
    void reset() {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
    }

    std::int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }
    std::string text(int column) const {
        const auto* data = sqlite3_column_text(stmt_, column);
        const int size = sqlite3_column_bytes(stmt_, column);
        return data ? std::string(reinterpret_cast<const char*>(data), static_cast<size_t>(size))
                    : std::string();
    }

  private:
    void check(int rc) {
        if (rc != SQLITE_OK) fail(file_, db_, rc, doing_);
    }

    const fs::path& file_;
    sqlite3* db_;
    std::string_view doing_;
    sqlite3_stmt* stmt_ = nullptr;
};

void exec(const fs::path& file, sqlite3* db, const char* sql, std::string_view doing) {
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) fail(file, db, rc, doing);
}

// A transaction rolled back unless committed, so every error path (exceptions included) leaves
// the database as it was.
class Transaction {
  public:
    enum Kind { read, write };
    Transaction(const fs::path& file, sqlite3* db, Kind kind) : file_(file), db_(db) {
        // IMMEDIATE takes the write lock at once: two writers wait for each other (busy
        // timeout) instead of failing halfway with SQLITE_BUSY on a lock upgrade.
        exec(file_, db_, kind == write ? "BEGIN IMMEDIATE" : "BEGIN", "starting a transaction");
        open_ = true;
    }
    ~Transaction() {
        if (open_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    void commit() {
        exec(file_, db_, "COMMIT", "committing");
        open_ = false;
    }

  private:
    const fs::path& file_;
    sqlite3* db_;
    bool open_ = false;
};

// ---------------------------------------------------------------------------------------------
// Schema and migrations. Step i brings the schema from version i to i + 1; a later version adds
// a step and raises kSchemaVersion. Steps run in the migration's transaction.

void migrate_to_1(const fs::path& file, sqlite3* db) {
    // Rule columns hold the rule model's own words ("https", "prefix", "GET,POST") so the file
    // reads well in the sqlite3 shell. AUTOINCREMENT: an id, once removed, is never reused, so
    // an id in an old audit row or an operator's note never names a different rule.
    exec(file, db, R"sql(
CREATE TABLE operator_rules (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  description TEXT NOT NULL,
  protocol TEXT NOT NULL CHECK (protocol IN ('https', 'wss')),
  host TEXT NOT NULL CHECK (host <> ''),
  port INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
  "match" TEXT NOT NULL CHECK ("match" IN ('prefix', 'exact')),
  path TEXT NOT NULL CHECK (substr(path, 1, 1) = '/'),
  methods TEXT NOT NULL CHECK (methods <> ''),
  created_at TEXT NOT NULL
);
-- Two operator rules that allow the same thing are a mistake (removing one would not remove
-- the permission); the description does not count.
CREATE UNIQUE INDEX operator_rules_identity
  ON operator_rules (protocol, host, port, "match", path, methods);
CREATE TABLE automatic_rules (
  position INTEGER PRIMARY KEY,
  description TEXT NOT NULL,
  protocol TEXT NOT NULL CHECK (protocol IN ('https', 'wss')),
  host TEXT NOT NULL CHECK (host <> ''),
  port INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
  "match" TEXT NOT NULL CHECK ("match" IN ('prefix', 'exact')),
  path TEXT NOT NULL CHECK (substr(path, 1, 1) = '/'),
  methods TEXT NOT NULL CHECK (methods <> ''),
  created_at TEXT NOT NULL
);
CREATE TABLE targets (
  uri TEXT PRIMARY KEY,
  targets TEXT NOT NULL,
  error TEXT NOT NULL,
  checked_at TEXT NOT NULL
);
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value NOT NULL
);
INSERT INTO meta (key, value) VALUES ('rules_version', 0);
CREATE TABLE audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  who TEXT NOT NULL,
  action TEXT NOT NULL,
  detail TEXT NOT NULL
);
)sql",
         "creating the schema (version 1)");
}

using MigrationStep = void (*)(const fs::path&, sqlite3*);
constexpr MigrationStep kMigrations[] = {&migrate_to_1};
static_assert(std::size(kMigrations) == kSchemaVersion);

int user_version(const fs::path& file, sqlite3* db) {
    Statement query(file, db, "PRAGMA user_version", "reading the schema version");
    return query.step() ? static_cast<int>(query.integer(0)) : 0;
}

void migrate(const fs::path& file, sqlite3* db) {
    // Checked outside a write transaction first: the usual case (up to date) then writes
    // nothing, so opening the store never shows up as a change to other connections.
    if (user_version(file, db) == kSchemaVersion) return;
    Transaction transaction(file, db, Transaction::write);
    const int from = user_version(file, db);
    if (from == kSchemaVersion) return;  // another process migrated it meanwhile
    if (from > kSchemaVersion)
        throw StoreError(fmt::format(
            "{}: schema version {} was written by a newer edgeway (this one knows up to {})",
            file.string(), from, kSchemaVersion));
    if (from < 0)
        throw StoreError(fmt::format("{}: invalid schema version {}", file.string(), from));
    if (from == 0) {
        Statement objects(file, db, "SELECT count(*) FROM sqlite_schema", "reading the schema");
        if (objects.step() && objects.integer(0) > 0)
            throw StoreError(fmt::format(
                "{}: an SQLite database, but not an edgeway rule database (it has other tables "
                "and no schema version)",
                file.string()));
    }
    for (int version = from; version < kSchemaVersion; ++version) kMigrations[version](file, db);
    exec(file, db, fmt::format("PRAGMA user_version = {}", kSchemaVersion).c_str(),
         "setting the schema version");
    transaction.commit();
}

// ---------------------------------------------------------------------------------------------
// Rules as rows.

constexpr const char* kRuleColumns = R"(description, protocol, host, port, "match", path, methods)";

Protocol protocol_from(const fs::path& file, const std::string& text) {
    if (text == "https") return Protocol::https;
    if (text == "wss") return Protocol::wss;
    throw StoreError(
        fmt::format("{}: invalid protocol '{}' in a stored rule", file.string(), text));
}

Match match_from(const fs::path& file, const std::string& text) {
    if (text == "prefix") return Match::prefix;
    if (text == "exact") return Match::exact;
    throw StoreError(fmt::format("{}: invalid match '{}' in a stored rule", file.string(), text));
}

MethodSet methods_from(const fs::path& file, const std::string& text) {
    MethodSet methods = 0;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t comma = std::min(text.find(',', start), text.size());
        const auto method = parse_method(std::string_view(text).substr(start, comma - start));
        if (!method)
            throw StoreError(
                fmt::format("{}: invalid methods '{}' in a stored rule", file.string(), text));
        methods |= method_bit(*method);
        start = comma + 1;
    }
    return methods;
}

// Reads the rule columns starting at `first` (in kRuleColumns order).
Rule rule_from_row(const fs::path& file, const Statement& row, int first, Origin origin) {
    Rule rule;
    rule.description = row.text(first);
    rule.protocol = protocol_from(file, row.text(first + 1));
    rule.host = row.text(first + 2);
    rule.port = static_cast<std::uint16_t>(row.integer(first + 3));
    rule.match = match_from(file, row.text(first + 4));
    rule.path = row.text(first + 5);
    rule.methods = methods_from(file, row.text(first + 6));
    rule.origin = origin;
    return rule;
}

// Binds the rule columns to parameters first.. (in kRuleColumns order).
void bind_rule(Statement& statement, int first, const Rule& rule) {
    statement.bind(first, rule.description)
        .bind(first + 1, protocol_name(rule.protocol))
        .bind(first + 2, rule.host)
        .bind(first + 3, static_cast<std::int64_t>(rule.port))
        .bind(first + 4, match_name(rule.match))
        .bind(first + 5, rule.path)
        .bind(first + 6, format_methods(rule.methods));
}

// What makes two operator rules the same permission (the unique index): all but the id, the
// description and the origin.
auto identity(const Rule& rule) {
    return std::tie(rule.protocol, rule.host, rule.port, rule.match, rule.path, rule.methods);
}

// Rules that must not reach the table: the schema's checks would refuse most of them, but
// with a message about SQL, not about the rule.
void check_storable(const fs::path& file, const Rule& rule) {
    if (rule.methods == 0)
        throw StoreError(
            fmt::format("{}: rule {} allows no method", file.string(), rule.describe()));
    if (rule.path.empty() || rule.path.front() != '/')
        throw StoreError(fmt::format("{}: rule {} has a path not starting with '/'", file.string(),
                                     rule.describe()));
    if (rule.host.empty()) throw StoreError(fmt::format("{}: a rule has no host", file.string()));
    if (rule.port == 0)
        throw StoreError(fmt::format("{}: rule {} has port 0", file.string(), rule.describe()));
}

// "added: ..." and "removed: ..." lines for the audit log: what is in one list and not the
// other (counted, so a rule listed twice and then once shows as one removal).
std::string describe_changes(const std::vector<Rule>& before, const std::vector<Rule>& after) {
    auto key = [](Rule rule) {
        rule.id = 0;
        return rule.describe();
    };
    std::map<std::string, int> count;
    for (const auto& rule : after) ++count[key(rule)];
    for (const auto& rule : before) --count[key(rule)];
    std::string added, removed;
    for (const auto& rule : after)
        if (auto& n = count[key(rule)]; n > 0) {
            --n;
            added += "added: " + rule.describe() + "\n";
        }
    for (const auto& rule : before)
        if (auto& n = count[key(rule)]; n < 0) {
            ++n;
            removed += "removed: " + rule.describe() + "\n";
        }
    std::string detail = added + removed;
    if (!detail.empty()) detail.pop_back();
    return detail;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

struct RuleStore::Db {
    fs::path file;
    DbHandle handle;
    std::int64_t data_version = 0;

    sqlite3* get() const { return handle.get(); }

    Statement statement(std::string_view sql, std::string_view doing) {
        return Statement(file, handle.get(), sql, doing);
    }
    Transaction transaction(Transaction::Kind kind) { return Transaction(file, get(), kind); }

    std::int64_t read_data_version() {
        auto query = statement("PRAGMA data_version", "reading the data version");
        return query.step() ? query.integer(0) : 0;
    }

    std::uint64_t read_version() {
        auto query = statement("SELECT value FROM meta WHERE key = 'rules_version'",
                               "reading the rules version");
        if (!query.step())
            throw StoreError(fmt::format("{}: the rules version is missing", file.string()));
        return static_cast<std::uint64_t>(query.integer(0));
    }

    void bump_version() {
        statement("UPDATE meta SET value = value + 1 WHERE key = 'rules_version'",
                  "updating the rules version")
            .run();
    }

    std::vector<Rule> read_operator_rules() {
        auto query =
            statement(fmt::format("SELECT id, {} FROM operator_rules ORDER BY id", kRuleColumns),
                      "reading the operator rules");
        std::vector<Rule> rules;
        while (query.step()) {
            rules.push_back(rule_from_row(file, query, 1, Origin::operator_rule));
            rules.back().id = query.integer(0);
        }
        return rules;
    }

    std::vector<Rule> read_automatic_rules() {
        auto query =
            statement(fmt::format("SELECT {} FROM automatic_rules ORDER BY position", kRuleColumns),
                      "reading the automatic rules");
        std::vector<Rule> rules;
        while (query.step()) rules.push_back(rule_from_row(file, query, 0, Origin::automatic));
        return rules;
    }

    std::int64_t insert_operator_rule(const Rule& rule, const std::string& now) {
        auto insert = statement(
            fmt::format(
                "INSERT INTO operator_rules ({}, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                kRuleColumns),
            "adding a rule");
        bind_rule(insert, 1, rule);
        insert.bind(8, now);
        insert.run();
        return sqlite3_last_insert_rowid(get());
    }

    void write_audit(const std::string& now, const std::string& who, std::string_view action,
                     const std::string& detail) {
        statement("INSERT INTO audit (at, who, action, detail) VALUES (?, ?, ?, ?)",
                  "writing the audit log")
            .bind(1, now)
            .bind(2, who)
            .bind(3, action)
            .bind(4, detail)
            .run();
    }
};

RuleStore::RuleStore(const std::filesystem::path& file) : file_(file) {
    try {
        create_private_directories(file.parent_path());
        create_private_file(file);
    } catch (const std::system_error& e) {
        throw StoreError(e.what());
    }
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(
        file.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_EXRESCODE,
        nullptr);
    DbHandle handle(raw);  // closes even when opening failed
    if (rc != SQLITE_OK) fail(file, raw, rc, "cannot open the rule database");
    db_ = std::make_unique<Db>(Db{file, std::move(handle), 0});
    sqlite3* db = db_->get();

    sqlite3_busy_timeout(db, kBusyTimeoutMs);
    // The first statement that reads the file: a corrupt or foreign file fails here.
    {
        auto mode = db_->statement("PRAGMA journal_mode = WAL", "enabling WAL");
        if (!mode.step() || mode.text(0) != "wal")
            throw StoreError(fmt::format("{}: cannot enable WAL (journal mode stays '{}')",
                                         file.string(), mode.text(0)));
    }
    // FULL: in WAL mode every commit syncs the log, so a change the CLI reported as done
    // survives a crash or a power loss.
    exec(file, db, "PRAGMA synchronous = FULL", "setting synchronous mode");
    exec(file, db, "PRAGMA foreign_keys = ON", "enabling foreign keys");
    migrate(file, db);
    db_->data_version = db_->read_data_version();
}

RuleStore::~RuleStore() = default;

RuleSet RuleStore::rule_set() {
    // One read transaction: the version and both lists come from the same snapshot.
    auto transaction = db_->transaction(Transaction::read);
    RuleSet set;
    set.version = db_->read_version();
    set.rules = db_->read_automatic_rules();
    auto operator_rules = db_->read_operator_rules();
    set.rules.insert(set.rules.end(), std::make_move_iterator(operator_rules.begin()),
                     std::make_move_iterator(operator_rules.end()));
    transaction.commit();
    return set;
}

std::vector<Rule> RuleStore::operator_rules() {
    return db_->read_operator_rules();
}

std::vector<Rule> RuleStore::automatic_rules() {
    return db_->read_automatic_rules();
}

std::uint64_t RuleStore::version() {
    return db_->read_version();
}

Rule RuleStore::add(Rule rule, const Actor& actor) {
    rule.origin = Origin::operator_rule;
    check_storable(file_, rule);
    auto transaction = db_->transaction(Transaction::write);
    {
        auto same = db_->statement(
            R"(SELECT id FROM operator_rules WHERE protocol = ? AND host = ? AND port = ?
               AND "match" = ? AND path = ? AND methods = ?)",
            "looking for an identical rule");
        same.bind(1, protocol_name(rule.protocol))
            .bind(2, rule.host)
            .bind(3, static_cast<std::int64_t>(rule.port))
            .bind(4, match_name(rule.match))
            .bind(5, rule.path)
            .bind(6, format_methods(rule.methods));
        if (same.step())
            throw StoreError(fmt::format("an identical rule exists: #{}", same.integer(0)));
    }
    const std::string now = now_utc();
    rule.id = db_->insert_operator_rule(rule, now);
    db_->bump_version();
    db_->write_audit(now, actor.name, "rule added", rule.describe());
    transaction.commit();
    return rule;
}

bool RuleStore::remove(std::int64_t id, const Actor& actor) {
    auto transaction = db_->transaction(Transaction::write);
    auto query =
        db_->statement(fmt::format("SELECT id, {} FROM operator_rules WHERE id = ?", kRuleColumns),
                       "looking up the rule");
    query.bind(1, id);
    if (!query.step()) return false;
    Rule rule = rule_from_row(file_, query, 1, Origin::operator_rule);
    rule.id = id;
    db_->statement("DELETE FROM operator_rules WHERE id = ?", "removing the rule")
        .bind(1, id)
        .run();
    const std::string now = now_utc();
    db_->bump_version();
    db_->write_audit(now, actor.name, "rule removed", rule.describe());
    transaction.commit();
    return true;
}

void RuleStore::replace_operator_rules(const std::vector<Rule>& rules, const Actor& actor) {
    for (const auto& rule : rules) check_storable(file_, rule);
    auto transaction = db_->transaction(Transaction::write);
    const auto before = db_->read_operator_rules();
    // Rules that stay exactly as they are keep their ids, so importing an exported file, or
    // one with a few edits, does not renumber every rule an operator may have noted.
    auto same_rule = [](const Rule& a, const Rule& b) {
        return identity(a) == identity(b) && a.description == b.description;
    };
    std::vector<bool> kept(rules.size(), false);
    for (const auto& old : before) {
        std::size_t i = 0;
        while (i < rules.size() && (kept[i] || !same_rule(rules[i], old))) ++i;
        if (i < rules.size()) {
            kept[i] = true;
            continue;
        }
        db_->statement("DELETE FROM operator_rules WHERE id = ?", "removing a replaced rule")
            .bind(1, old.id)
            .run();
    }
    const std::string now = now_utc();
    for (std::size_t i = 0; i < rules.size(); ++i) {
        if (kept[i]) continue;
        Rule rule = rules[i];
        rule.origin = Origin::operator_rule;
        try {
            db_->insert_operator_rule(rule, now);
        } catch (const StoreError&) {
            if (sqlite3_extended_errcode(db_->get()) == SQLITE_CONSTRAINT_UNIQUE)
                throw StoreError(fmt::format(
                    "{}: rules not imported: rule {} ({}) is identical to another rule of the list",
                    file_.string(), i + 1, rule.describe()));
            throw;
        }
    }
    const auto after = db_->read_operator_rules();
    const std::string changes = describe_changes(before, after);
    if (!changes.empty()) db_->bump_version();
    // The import itself is audited even when it changed nothing: the operator did it.
    db_->write_audit(now, actor.name, "rules imported",
                     fmt::format("{} rules replaced by {}{}{}", before.size(), after.size(),
                                 changes.empty() ? " (no change)" : "\n", changes));
    transaction.commit();
}

bool RuleStore::set_automatic_rules(const std::vector<Rule>& rules) {
    std::vector<Rule> wanted = rules;
    for (auto& rule : wanted) {
        rule.id = 0;
        rule.origin = Origin::automatic;
        check_storable(file_, rule);
    }
    auto transaction = db_->transaction(Transaction::write);
    const auto before = db_->read_automatic_rules();
    if (before == wanted) return false;  // rolled back: nothing was written
    db_->statement("DELETE FROM automatic_rules", "replacing the automatic rules").run();
    const std::string now = now_utc();
    auto insert = db_->statement(
        fmt::format(
            "INSERT INTO automatic_rules (position, {}, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, "
            "?, ?)",
            kRuleColumns),
        "storing the automatic rules");
    for (std::size_t i = 0; i < wanted.size(); ++i) {
        insert.bind(1, static_cast<std::int64_t>(i));
        bind_rule(insert, 2, wanted[i]);
        insert.bind(9, now);
        insert.run();
        insert.reset();
    }
    db_->bump_version();
    const std::string changes = describe_changes(before, wanted);
    db_->write_audit(now, "system", "automatic rules",
                     changes.empty() ? std::string("reordered") : changes);
    transaction.commit();
    return true;
}

void RuleStore::set_targets(const std::vector<TargetStatus>& targets) {
    // Not audited and no version bump: targets are status, refreshed every discovery round;
    // the rules they lead to are audited by set_automatic_rules.
    auto transaction = db_->transaction(Transaction::write);
    db_->statement("DELETE FROM targets", "replacing the targets").run();
    auto insert =
        db_->statement("INSERT INTO targets (uri, targets, error, checked_at) VALUES (?, ?, ?, ?)",
                       "storing the targets");
    for (const auto& status : targets) {
        auto list = nlohmann::json::array();
        for (const auto& target : status.targets)
            list.push_back({{"name", target.name}, {"address", target.address}});
        insert.bind(1, status.uri)
            .bind(2, list.dump())
            .bind(3, status.error)
            .bind(4, status.checked_at);
        try {
            insert.run();
        } catch (const StoreError&) {
            if (sqlite3_extended_errcode(db_->get()) == SQLITE_CONSTRAINT_PRIMARYKEY)
                throw StoreError(fmt::format("{}: targets not stored: {} is listed twice",
                                             file_.string(), status.uri));
            throw;
        }
        insert.reset();
    }
    transaction.commit();
}

std::vector<TargetStatus> RuleStore::targets() {
    auto query =
        db_->statement("SELECT uri, targets, error, checked_at FROM targets ORDER BY rowid",
                       "reading the targets");
    std::vector<TargetStatus> result;
    while (query.step()) {
        TargetStatus status;
        status.uri = query.text(0);
        status.error = query.text(2);
        status.checked_at = query.text(3);
        const auto list = nlohmann::json::parse(query.text(1), nullptr, false);
        if (!list.is_array())
            throw StoreError(
                fmt::format("{}: invalid stored targets for {}", file_.string(), status.uri));
        for (const auto& item : list) {
            if (!item.is_object() || !item.value("name", nlohmann::json()).is_string() ||
                !item.value("address", nlohmann::json()).is_string())
                throw StoreError(
                    fmt::format("{}: invalid stored targets for {}", file_.string(), status.uri));
            status.targets.push_back(
                {item["name"].get<std::string>(), item["address"].get<std::string>()});
        }
        result.push_back(std::move(status));
    }
    return result;
}

std::optional<WebProxySettings> RuleStore::web_proxy() {
    auto query = db_->statement("SELECT value FROM meta WHERE key = 'web_proxy'",
                                "reading the web proxy settings");
    if (!query.step()) return std::nullopt;
    const auto doc = nlohmann::json::parse(query.text(0), nullptr, false);
    auto invalid = [&] {
        return StoreError(fmt::format("{}: invalid stored web proxy settings", file_.string()));
    };
    if (!doc.is_object() || !doc.value("enabled", nlohmann::json()).is_boolean() ||
        !doc.value("join_urls", nlohmann::json()).is_array())
        throw invalid();
    WebProxySettings settings;
    settings.enabled = doc["enabled"].get<bool>();
    for (const auto& uri : doc["join_urls"]) {
        if (!uri.is_string()) throw invalid();
        settings.join_urls.push_back(uri.get<std::string>());
    }
    return settings;
}

void RuleStore::set_web_proxy(const WebProxySettings& settings, const Actor& actor) {
    for (std::size_t i = 0; i < settings.join_urls.size(); ++i) {
        try {
            parse_join_uri(settings.join_urls[i]);
        } catch (const RuleError& e) {
            throw RuleError(fmt::format("field \"join_urls[{}]\": {}", i, e.what()));
        }
    }
    const nlohmann::json doc = {{"enabled", settings.enabled}, {"join_urls", settings.join_urls}};
    auto transaction = db_->transaction(Transaction::write);
    db_->statement("INSERT OR REPLACE INTO meta (key, value) VALUES ('web_proxy', ?)",
                   "storing the web proxy settings")
        .bind(1, doc.dump())
        .run();
    // What the edges may pass changes with these (disabled: nothing), so the set gets a new
    // version for them to apply.
    db_->bump_version();
    db_->write_audit(
        now_utc(), actor.name, "web proxy settings",
        fmt::format("{}; guest account client URIs: {}", settings.enabled ? "enabled" : "disabled",
                    settings.join_urls.empty()
                        ? std::string("none")
                        : fmt::format("{}", fmt::join(settings.join_urls, ", "))));
    transaction.commit();
}

std::vector<AuditEntry> RuleStore::audit(std::size_t limit) {
    auto query =
        db_->statement("SELECT id, at, who, action, detail FROM audit ORDER BY id DESC LIMIT ?",
                       "reading the audit log");
    query.bind(1, static_cast<std::int64_t>(
                      std::min<std::size_t>(limit, std::numeric_limits<std::int64_t>::max())));
    std::vector<AuditEntry> entries;
    while (query.step())
        entries.push_back(
            {query.integer(0), query.text(1), query.text(2), query.text(3), query.text(4)});
    return entries;
}

bool RuleStore::changed_elsewhere() {
    const std::int64_t now = db_->read_data_version();
    const bool changed = now != db_->data_version;
    db_->data_version = now;
    return changed;
}

}  // namespace edgeway::allowlist
