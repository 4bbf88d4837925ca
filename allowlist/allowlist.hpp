// Public interface of the allow-list library: the rule model, the request normaliser, the
// compiled matcher, the generator of automatic rules and the SQLite rule store. The edge and the
// core run the same normalise + match code, so what the edge lets through is exactly what the
// core re-checks. Everything else in allowlist/ is private to it.
#pragma once

#include "state/state.hpp"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace edgeway::allowlist {

enum class Protocol { https, wss };  // wss rules apply only to WebSocket upgrades
enum class Match { prefix, exact };
enum class Origin { automatic, operator_rule };  // "auto" | "operator" in JSON

// The methods a rule can allow. Matching is case-sensitive: "get" is not GET.
enum class Method : std::uint8_t { GET, POST, PUT, HEAD, DELETE, OPTIONS, PATCH };
constexpr unsigned kMethodCount = 7;
using MethodSet = std::uint8_t;  // bit (1 << Method)
constexpr MethodSet method_bit(Method m) {
    return static_cast<MethodSet>(1u << static_cast<unsigned>(m));
}
std::optional<Method> parse_method(std::string_view text);  // exact, case-sensitive
std::string_view method_name(Method m);
std::string format_methods(MethodSet methods);  // "GET,POST,PUT" in enum order

std::string_view protocol_name(Protocol p);  // "https" | "wss"
std::string_view match_name(Match m);        // "prefix" | "exact"
std::string_view origin_name(Origin o);      // "auto" | "operator"

struct Rule {
    std::int64_t id = 0;  // the store's id for operator rules; 0 for automatic rules
    std::string description;
    Protocol protocol = Protocol::https;
    std::string host;  // lowercase, no trailing dot; IPv6 literals in brackets "[::1]"
    std::uint16_t port = 443;
    Match match = Match::prefix;
    std::string path = "/";  // normalised, starts with '/'
    MethodSet methods = 0;   // never empty
    Origin origin = Origin::operator_rule;

    // One line for logs and the CLI:
    // `#12 https localhost:443 prefix /api/ GET,POST (operator: "Reports API")`
    // (no "#id " when id is 0: automatic rules, rules not stored yet).
    std::string describe() const;
    bool operator==(const Rule&) const = default;
};

// A rule or rule file that cannot be used. what() names the entry and the field:
// `rule 3: field "methods": expected a non-empty list of GET, POST, PUT, HEAD, DELETE, OPTIONS,
// PATCH`.
class RuleError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// JSON form of one rule:
// {"id": 12, "description": "...", "protocol": "https", "host": "join.example.com", "port": 443,
//  "match": "prefix", "path": "/", "methods": ["GET","POST"], "origin": "operator"}
// rule_from_json validates every field (unknown fields are errors), lowercases the host, strips
// its trailing dot and normalises the path (a path that cannot be normalised safely is an
// error). "id" and "origin" are optional on input (0 / operator); `where` prefixes messages
// ("rule 3").
Rule rule_from_json(const nlohmann::json& value, const std::string& where);
nlohmann::json rule_to_json(const Rule& rule);

// What the core pushes to every edge: the whole versioned rule set.
struct RuleSet {
    std::uint64_t version = 0;
    std::vector<Rule> rules;  // automatic rules first, then operator rules
    // The version is the cluster's (etcd: every core numbers sets alike, and a higher one is
    // newer whichever core sent it), not one core's own.
    bool cluster = false;
};
// {"version": 7, "rules": [...]} (and "cluster": true for a cluster's set); throws RuleError
// naming the entry.
RuleSet rule_set_from_json(const nlohmann::json& value);
nlohmann::json rule_set_to_json(const RuleSet& set);

// A rule file for import/export: {"rules": [...]} of operator rules (a bare array is accepted
// too). The whole file is refused when one entry is invalid; the error names the entry
// ("rule 3 (\"Reports API\")") and the field. Origins and ids in the file are ignored: imported
// rules are operator rules, numbered by the store. Two entries that differ only in their
// description are an error.
std::vector<Rule> parse_rule_file(std::string_view text);
std::string format_rule_file(const std::vector<Rule>& rules);  // pretty JSON, ids dropped

// ---------------------------------------------------------------------------------------------
// Normalising a request before matching.

struct RequestHead {
    std::string_view method;  // as received, case preserved
    std::string_view target;  // request-target (HTTP/1.1) or :path (HTTP/2)
    std::string_view host;    // Host header or :authority
    bool websocket = false;   // an upgrade to WebSocket (HTTP/1.1 Upgrade or RFC 8441 CONNECT)
    // The TLS server name the client sent; checked against the host when check_sni is set
    // (the edge). An empty SNI is accepted only when the host is an IP literal.
    std::string_view sni;
    bool check_sni = false;
};

struct NormalizedRequest {
    Protocol protocol = Protocol::https;  // wss for WebSocket upgrades
    Method method = Method::GET;
    std::string host;  // lowercase, no trailing dot, IPv6 in brackets
    std::uint16_t port = 443;
    std::string path;   // decoded unreserved characters, no dot segments, no "//"
    std::string query;  // "" or "?..." exactly as received (validated, not rewritten)

    std::string target() const { return path + query; }  // what is forwarded
    std::string authority() const;                       // host, or host:port if not 443
};

// Why a request is refused: the HTTP status to answer and a reason for the log.
struct Refusal {
    unsigned status = 400;  // 400 unsafe/invalid, 405 unknown method, 421 SNI != Host
    std::string reason;     // "encoded '/' in the path", "TLS server name 'a' does not match
                            // Host 'b'"
};

// Normalisation (RFC 3986 6.2.2 plus what proxies must add):
// - absolute-form targets (https://host[:port]/path) are reduced to origin-form; their authority
//   must agree with the Host header; other schemes, asterisk-form and authority-form are refused;
// - the host is lowercased, its trailing dot removed, port 443 made implicit;
// - percent-encoded unreserved characters are decoded, other escapes have their hex uppercased;
// - "." and ".." segments are resolved (climbing above the root is refused), "//" becomes "/";
// - refused with 400: encoded '/' or '\' (%2F, %5C), a raw '\', NUL or other control bytes
//   (raw or encoded), invalid escapes, escapes that decode to invalid UTF-8, dot segments that
//   were percent-encoded (%2e%2e), "..;" style segments, raw non-ASCII bytes, a fragment;
// - methods other than the seven of Method are refused with 405 (CONNECT, TRACE, "get", ...).
using Normalized = std::variant<NormalizedRequest, Refusal>;
Normalized normalize(const RequestHead& head);

// Normalises a rule path (same rules as a request path, no query allowed). Throws RuleError.
std::string normalize_rule_path(std::string_view path);
// Lowercase, no trailing dot, valid DNS name or IP literal. Throws RuleError.
std::string normalize_rule_host(std::string_view host);

// ---------------------------------------------------------------------------------------------
// Matching.

struct Decision {
    bool allowed = false;
    const Rule* rule = nullptr;  // allowed: the rule that allowed it; refused: the closest rule
                                 // (path matched but not the method), or null
    std::string reason;          // refused: "no rule for wss localhost:443", "no rule matches
                                 // path /admin on https localhost:443", "method DELETE is not
                                 // allowed by #4 https ..." (Rule::describe of the closest rule)
};

// An immutable rule set compiled for lookups: rules are grouped by (protocol, host, port); exact
// paths sit in a hash map and prefixes in a sorted table searched by binary search, so a lookup
// costs O(log n) however many rules there are. A request is allowed when any rule of its
// (protocol, host, port) matches its path and allows its method; a prefix rule matches when the
// path starts with the rule's path (plain string prefix, as operators of this kind of appliance
// expect: "/api" matches "/api2"; write "/api/" for a directory).
class CompiledRules {
  public:
    explicit CompiledRules(RuleSet set);
    ~CompiledRules();
    CompiledRules(const CompiledRules&) = delete;
    CompiledRules& operator=(const CompiledRules&) = delete;

    Decision check(const NormalizedRequest& request) const;
    std::uint64_t version() const { return set_.version; }
    const RuleSet& rule_set() const { return set_; }

  private:
    struct Index;
    RuleSet set_;
    std::unique_ptr<Index> index_;
};

// ---------------------------------------------------------------------------------------------
// Automatic rules.

// A join URL (guest account client URI): https://host[:port][/...]. Throws RuleError.
struct JoinUri {
    std::string uri;   // as configured
    std::string host;  // normalised
    std::uint16_t port = 443;
};
JoinUri parse_join_uri(std::string_view uri);

// What one resolution of a join URL found: the targets (name and address) or an error.
struct ResolvedTarget {
    std::string name;     // the name resolved (the join host, or a CNAME target if known)
    std::string address;  // "10.48.36.5" or "10.48.36.5:9443" (a lab override with a port)
    bool operator==(const ResolvedTarget&) const = default;
};
// Where the core connects for a target: its address with the join URL's port, unless the entry
// carries its own ("10.48.36.5" -> "10.48.36.5:443", "fd00::5" -> "[fd00::5]:443",
// "10.48.36.5:9443" as it is).
std::string target_endpoint(const ResolvedTarget& target, std::uint16_t port);

struct Resolution {
    JoinUri uri;
    std::vector<ResolvedTarget> targets;  // empty: the name does not exist (rules removed)
    std::string error;                    // a transient failure: last good rules are kept
};

// The automatic rules for the join URLs that resolved to at least one target: for each,
// `https host port prefix / GET,POST,PUT,HEAD,DELETE` and the same for wss, described
// "Meeting Server web bridges". Duplicate hosts yield one pair.
std::vector<Rule> automatic_rules(const std::vector<Resolution>& resolutions);

// ---------------------------------------------------------------------------------------------
// Storage (SQLite, WAL) on the core.

// Who made a change, for the audit log: "cli:alice", "admin:bob from 192.0.2.7", "system".
struct Actor {
    std::string name;
};

struct AuditEntry {
    std::int64_t id = 0;
    std::string at;  // ISO-8601 UTC, "2026-11-25T10:41:03Z"
    std::string who;
    std::string action;  // "rule added", "rule removed", "rules imported", "automatic rules"
    std::string detail;  // the rule(s) described
};

// The last resolution of one join URL, kept for the status page and the CLI.
struct TargetStatus {
    std::string uri;
    std::vector<ResolvedTarget> targets;
    std::string error;
    std::string checked_at;  // ISO-8601 UTC
};

// The Meeting Server web proxy's settings as an operator set them through the admin API. Until
// then the core uses its configuration file's join URLs, enabled.
struct WebProxySettings {
    bool enabled = true;
    std::vector<std::string> join_urls;  // guest account client URIs, each parse_join_uri-valid
    bool operator==(const WebProxySettings&) const = default;
};

// The rule database's file name inside the core's state directory.
constexpr const char* kRuleDatabaseFile = "allowlist.db";
// With the rules in etcd: the copy of what the node last read from it, beside it.
constexpr const char* kRuleCacheFile = "allowlist-etcd-copy.json";

class StoreError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// An operator rule identical (all but the description) to one that exists.
class DuplicateRule : public StoreError {
  public:
    DuplicateRule(const std::string& message, std::int64_t existing)
        : StoreError(message), existing_(existing) {}
    std::int64_t existing() const { return existing_; }

  private:
    std::int64_t existing_;
};

// Follows changes made elsewhere (another process on the file, another core on etcd) for as long
// as it lives.
class ChangeFollower {
  public:
    virtual ~ChangeFollower() = default;
};

// Where the core keeps its rules: operator rules, the current automatic rules, the resolved
// targets, the web proxy's settings, a version bumped by every change of what the edges get,
// and the audit log. Every change is one transaction. Two implementations: RuleStore (SQLite,
// one core) and the etcd one (open_rule_storage), shared by every core of a cluster. Not
// thread-safe: one owner thread per object. The etcd one throws state::Unavailable when no
// member answers: writes change nothing then, and reads give what it last read, if anything.
class RuleStorage {
  public:
    virtual ~RuleStorage() = default;

    // The whole set: automatic rules, then operator rules by id; with the current version.
    virtual RuleSet rule_set() = 0;
    virtual std::vector<Rule> operator_rules() = 0;
    virtual std::vector<Rule> automatic_rules() = 0;
    virtual std::uint64_t version() = 0;

    // Adds an operator rule (id assigned; an identical existing rule is a DuplicateRule) and
    // returns it.
    virtual Rule add(Rule rule, const Actor& actor) = 0;
    // Removes the operator rule with this id; false (and nothing audited) when there is none.
    virtual bool remove(std::int64_t id, const Actor& actor) = 0;
    // Replaces all operator rules (import). Atomic: all or nothing.
    virtual void replace_operator_rules(const std::vector<Rule>& rules, const Actor& actor) = 0;
    // Replaces the automatic rules when they differ (audited as "system"); true when changed.
    virtual bool set_automatic_rules(const std::vector<Rule>& rules) = 0;

    // Resolved targets per join URL (status), replaced as a whole.
    virtual void set_targets(const std::vector<TargetStatus>& targets) = 0;
    virtual std::vector<TargetStatus> targets() = 0;

    // The web proxy's settings; nothing when never set (the configuration file's apply).
    virtual std::optional<WebProxySettings> web_proxy() = 0;
    // Stores (and audits) new settings and raises the rules version. Throws RuleError naming
    // the field ("join_urls") when a URI is not a valid join URI.
    virtual void set_web_proxy(const WebProxySettings& settings, const Actor& actor) = 0;

    virtual std::vector<AuditEntry> audit(std::size_t limit = 100) = 0;  // newest first

    // Calls `changed`, on a thread of the follower's, soon after anything may have changed
    // the rules or the web proxy settings elsewhere (and after its own changes too: callers
    // compare versions), and `lost` when the storage can no longer be followed (etcd: no
    // member reachable; `changed` comes again once it is back). SQLite: the file is polled
    // every 200 ms; etcd: a watch.
    virtual std::unique_ptr<ChangeFollower> follow(
        std::function<void()> changed, std::function<void(const std::string& problem)> lost) = 0;
    // Where the rules live, for messages: the file, or "etcd at http://... (prefix /edgeway/)".
    virtual std::string where() const = 0;
};

// The SQLite rule database of one core. Several processes may open the same file (the running
// core and the CLI): changed_elsewhere() tells the core to reload.
class RuleStore final : public RuleStorage {
  public:
    // Opens (creating if needed, with parent directories mode 0700) the database file, sets
    // WAL and a busy timeout, and creates or migrates the schema. Throws StoreError naming the
    // file.
    explicit RuleStore(const std::filesystem::path& file);
    ~RuleStore();
    RuleStore(const RuleStore&) = delete;
    RuleStore& operator=(const RuleStore&) = delete;

    // RuleStorage (see there).
    RuleSet rule_set() override;
    std::vector<Rule> operator_rules() override;
    std::vector<Rule> automatic_rules() override;
    std::uint64_t version() override;
    Rule add(Rule rule, const Actor& actor) override;
    bool remove(std::int64_t id, const Actor& actor) override;
    void replace_operator_rules(const std::vector<Rule>& rules, const Actor& actor) override;
    bool set_automatic_rules(const std::vector<Rule>& rules) override;
    void set_targets(const std::vector<TargetStatus>& targets) override;
    std::vector<TargetStatus> targets() override;
    std::optional<WebProxySettings> web_proxy() override;
    void set_web_proxy(const WebProxySettings& settings, const Actor& actor) override;
    std::vector<AuditEntry> audit(std::size_t limit = 100) override;
    std::unique_ptr<ChangeFollower> follow(
        std::function<void()> changed,
        std::function<void(const std::string& problem)> lost) override;
    std::string where() const override { return file_.string(); }

    // For a restored copy about to replace the live database: raises the version above its
    // own, `live_version` (the live database's) and the clock (milliseconds since 1970), so the
    // running core and its edges take the restored rules as a new set, even an edge that kept
    // running while the core's database was lost and holds a number the backup never saw; and
    // audits the restore ("state restored", detail).
    void mark_restored(std::uint64_t live_version, const Actor& actor, const std::string& detail);

    // True when another connection committed a change since the last call (PRAGMA data_version).
    bool changed_elsewhere();

    const std::filesystem::path& file() const { return file_; }

  private:
    struct Db;
    std::filesystem::path file_;
    std::unique_ptr<Db> db_;
};

// The rule storage a core's configuration names: its SQLite file (sqlite_file), or the etcd
// cluster. Throws StoreError naming the file, or state::Error for an unusable etcd setting
// (opening etcd storage does not connect yet).
std::unique_ptr<RuleStorage> open_rule_storage(const state::Config& config,
                                               const std::filesystem::path& sqlite_file);

}  // namespace edgeway::allowlist
