// What both rule storages (SQLite and etcd) share, so that they check, number, audit and store
// alike: rule checks, the audit log's words, the import's plan, and the JSON of the targets and
// of the web proxy's settings. `where` names the storage in messages (the file, or etcd).
// Private to allowlist/.
#pragma once

#include "allowlist/allowlist.hpp"

#include <string>
#include <tuple>
#include <vector>

namespace edgeway::allowlist::store {

// What makes two operator rules the same permission: all but the id, the description and the
// origin.
inline auto identity(const Rule& rule) {
    return std::tie(rule.protocol, rule.host, rule.port, rule.match, rule.path, rule.methods);
}

// Throws StoreError for a rule no storage may hold (no method, a relative path, no host, port 0).
void check_storable(const std::string& where, const Rule& rule);

// "added: ..." and "removed: ..." lines for the audit log: what is in one list and not the
// other (counted, so a rule listed twice and then once shows as one removal).
std::string describe_changes(const std::vector<Rule>& before, const std::vector<Rule>& after);

// An import: which of the new rules stay as they are (same permission and description as an
// old one, which keeps its id), and which old rules go.
struct ReplacePlan {
    std::vector<bool> kept;                 // per new rule
    std::vector<std::int64_t> removed_ids;  // old rules without a match
};
ReplacePlan plan_replacement(const std::vector<Rule>& before, const std::vector<Rule>& rules);
// The audit detail of an import: "3 rules replaced by 4\nadded: ..." or "... (no change)".
std::string import_detail(const std::vector<Rule>& before, const std::vector<Rule>& after,
                          const std::string& changes);

// Throws RuleError naming the field ("join_urls[1]") of a URI that is not a join URI.
void check_web_proxy(const WebProxySettings& settings);
std::string web_proxy_detail(const WebProxySettings& settings);
std::string web_proxy_to_text(const WebProxySettings& settings);
WebProxySettings web_proxy_from_text(const std::string& where, const std::string& text);

std::string targets_to_text(const std::vector<ResolvedTarget>& targets);
std::vector<ResolvedTarget> targets_from_text(const std::string& where, const std::string& uri,
                                              const std::string& text);

}  // namespace edgeway::allowlist::store
