// The rule store: one SQLite file in the core's state directory, shared by the running core and
// the `edgeway allowlist` CLI. WAL lets the CLI write while the core reads; every change is one
// BEGIN IMMEDIATE transaction that also bumps the version and writes the audit row, so the
// version, the rules and the audit log can never disagree.
#include "allowlist/allowlist.hpp"
#include "allowlist/store_common.hpp"
#include "common/sqlite.hpp"

#include <fmt/format.h>
#include <sqlite3.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <iterator>
#include <limits>
#include <mutex>
#include <thread>

namespace edgeway::allowlist {

namespace {

namespace fs = std::filesystem;

constexpr int kSchemaVersion = 1;
using sqlite::now_utc;
using sqlite::Statement;
using sqlite::Transaction;

[[noreturn]] void raise_store_error(const std::string& message) {
    throw StoreError(message);
}

// ---------------------------------------------------------------------------------------------
// Schema and migrations. Step i brings the schema from version i to i + 1; a later version adds
// a step and raises kSchemaVersion. Steps run in the migration's transaction.

void migrate_to_1(sqlite::Database& db) {
    // Rule columns hold the rule model's own words ("https", "prefix", "GET,POST") so the file
    // reads well in the sqlite3 shell. AUTOINCREMENT: an id, once removed, is never reused, so
    // an id in an old audit row or an operator's note never names a different rule.
    db.exec(R"sql(
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

constexpr sqlite::Database::Step kMigrations[] = {&migrate_to_1};
static_assert(std::size(kMigrations) == kSchemaVersion);

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

using store::identity;

void check_storable(const fs::path& file, const Rule& rule) {
    store::check_storable(file.string(), rule);
}

}  // namespace

// ---------------------------------------------------------------------------------------------

struct RuleStore::Db {
    explicit Db(const fs::path& path) : db(path, &raise_store_error) {}

    sqlite::Database db;
    const fs::path& file = db.file();
    std::int64_t data_version = 0;

    Statement statement(std::string_view sql, std::string_view doing) {
        return Statement(db, sql, doing);
    }
    Transaction transaction(Transaction::Kind kind) { return Transaction(db, kind); }

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
        return db.last_insert_rowid();
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

RuleStore::RuleStore(const std::filesystem::path& file)
    : file_(file), db_(std::make_unique<Db>(file)) {
    db_->db.migrate(kMigrations, "an edgeway rule database");
    db_->data_version = db_->db.data_version();
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
            throw DuplicateRule(fmt::format("an identical rule exists: #{}", same.integer(0)),
                                same.integer(0));
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
    const auto plan = store::plan_replacement(before, rules);
    const auto& kept = plan.kept;
    for (const auto id : plan.removed_ids)
        db_->statement("DELETE FROM operator_rules WHERE id = ?", "removing a replaced rule")
            .bind(1, id)
            .run();
    const std::string now = now_utc();
    for (std::size_t i = 0; i < rules.size(); ++i) {
        if (kept[i]) continue;
        Rule rule = rules[i];
        rule.origin = Origin::operator_rule;
        try {
            db_->insert_operator_rule(rule, now);
        } catch (const StoreError&) {
            if (db_->db.extended_errcode() == SQLITE_CONSTRAINT_UNIQUE)
                throw StoreError(fmt::format(
                    "{}: rules not imported: rule {} ({}) is identical to another rule of the list",
                    file_.string(), i + 1, rule.describe()));
            throw;
        }
    }
    const auto after = db_->read_operator_rules();
    const std::string changes = store::describe_changes(before, after);
    if (!changes.empty()) db_->bump_version();
    // The import itself is audited even when it changed nothing: the operator did it.
    db_->write_audit(now, actor.name, "rules imported",
                     store::import_detail(before, after, changes));
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
    const std::string changes = store::describe_changes(before, wanted);
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
        insert.bind(1, status.uri)
            .bind(2, store::targets_to_text(status.targets))
            .bind(3, status.error)
            .bind(4, status.checked_at);
        try {
            insert.run();
        } catch (const StoreError&) {
            if (db_->db.extended_errcode() == SQLITE_CONSTRAINT_PRIMARYKEY)
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
        status.targets = store::targets_from_text(file_.string(), status.uri, query.text(1));
        result.push_back(std::move(status));
    }
    return result;
}

std::optional<WebProxySettings> RuleStore::web_proxy() {
    auto query = db_->statement("SELECT value FROM meta WHERE key = 'web_proxy'",
                                "reading the web proxy settings");
    if (!query.step()) return std::nullopt;
    return store::web_proxy_from_text(file_.string(), query.text(0));
}

void RuleStore::set_web_proxy(const WebProxySettings& settings, const Actor& actor) {
    store::check_web_proxy(settings);
    auto transaction = db_->transaction(Transaction::write);
    db_->statement("INSERT OR REPLACE INTO meta (key, value) VALUES ('web_proxy', ?)",
                   "storing the web proxy settings")
        .bind(1, store::web_proxy_to_text(settings))
        .run();
    // What the edges may pass changes with these (disabled: nothing), so the set gets a new
    // version for them to apply.
    db_->bump_version();
    db_->write_audit(now_utc(), actor.name, "web proxy settings",
                     store::web_proxy_detail(settings));
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

void RuleStore::mark_restored(std::uint64_t live_version, const Actor& actor,
                              const std::string& detail) {
    const auto clock =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
    auto transaction = db_->transaction(Transaction::write);
    const std::uint64_t version = std::max({db_->read_version(), live_version, clock}) + 1;
    db_->statement("UPDATE meta SET value = ? WHERE key = 'rules_version'",
                   "updating the rules version")
        .bind(1, static_cast<std::int64_t>(version))
        .run();
    db_->write_audit(now_utc(), actor.name, "state restored",
                     fmt::format("{} (rules version {})", detail, version));
    transaction.commit();
}

namespace {

// The file polled from a thread of its own, on a connection of its own (PRAGMA data_version
// changes with every commit of any other connection).
class FilePoller final : public ChangeFollower {
  public:
    FilePoller(const fs::path& file, std::function<void()> changed)
        : store_(file), changed_(std::move(changed)), thread_([this] { run(); }) {}
    ~FilePoller() override {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_one();
        thread_.join();
    }

  private:
    static constexpr std::chrono::milliseconds kInterval{200};

    void run() {
        std::unique_lock lock(mutex_);
        while (!wake_.wait_for(lock, kInterval, [this] { return stopping_; })) {
            lock.unlock();
            bool changed = false;
            try {
                changed = store_.changed_elsewhere();
            } catch (const StoreError&) {
                changed = true;  // let the owner read, and report, what is wrong
            }
            if (changed) changed_();
            lock.lock();
        }
    }

    RuleStore store_;
    std::function<void()> changed_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace

std::unique_ptr<ChangeFollower> RuleStore::follow(std::function<void()> changed,
                                                  std::function<void(const std::string&)>) {
    return std::make_unique<FilePoller>(file_, std::move(changed));
}

bool RuleStore::changed_elsewhere() {
    const std::int64_t now = db_->db.data_version();
    const bool changed = now != db_->data_version;
    db_->data_version = now;
    return changed;
}

}  // namespace edgeway::allowlist
