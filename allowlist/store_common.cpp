#include "allowlist/store_common.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <map>

namespace edgeway::allowlist::store {

void check_storable(const std::string& where, const Rule& rule) {
    if (rule.methods == 0)
        throw StoreError(fmt::format("{}: rule {} allows no method", where, rule.describe()));
    if (rule.path.empty() || rule.path.front() != '/')
        throw StoreError(
            fmt::format("{}: rule {} has a path not starting with '/'", where, rule.describe()));
    if (rule.host.empty()) throw StoreError(fmt::format("{}: a rule has no host", where));
    if (rule.port == 0)
        throw StoreError(fmt::format("{}: rule {} has port 0", where, rule.describe()));
}

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

ReplacePlan plan_replacement(const std::vector<Rule>& before, const std::vector<Rule>& rules) {
    // Rules that stay exactly as they are keep their ids, so importing an exported file, or
    // one with a few edits, does not renumber every rule an operator may have noted.
    auto same_rule = [](const Rule& a, const Rule& b) {
        return identity(a) == identity(b) && a.description == b.description;
    };
    ReplacePlan plan;
    plan.kept.assign(rules.size(), false);
    for (const auto& old : before) {
        std::size_t i = 0;
        while (i < rules.size() && (plan.kept[i] || !same_rule(rules[i], old))) ++i;
        if (i < rules.size())
            plan.kept[i] = true;
        else
            plan.removed_ids.push_back(old.id);
    }
    return plan;
}

std::string import_detail(const std::vector<Rule>& before, const std::vector<Rule>& after,
                          const std::string& changes) {
    return fmt::format("{} rules replaced by {}{}{}", before.size(), after.size(),
                       changes.empty() ? " (no change)" : "\n", changes);
}

void check_web_proxy(const WebProxySettings& settings) {
    for (std::size_t i = 0; i < settings.join_urls.size(); ++i) {
        try {
            parse_join_uri(settings.join_urls[i]);
        } catch (const RuleError& e) {
            throw RuleError(fmt::format("field \"join_urls[{}]\": {}", i, e.what()));
        }
    }
}

std::string web_proxy_detail(const WebProxySettings& settings) {
    return fmt::format(
        "{}; guest account client URIs: {}", settings.enabled ? "enabled" : "disabled",
        settings.join_urls.empty() ? std::string("none")
                                   : fmt::format("{}", fmt::join(settings.join_urls, ", ")));
}

std::string web_proxy_to_text(const WebProxySettings& settings) {
    const nlohmann::json doc = {{"enabled", settings.enabled}, {"join_urls", settings.join_urls}};
    return doc.dump();
}

WebProxySettings web_proxy_from_text(const std::string& where, const std::string& text) {
    const auto doc = nlohmann::json::parse(text, nullptr, false);
    auto invalid = [&] {
        return StoreError(fmt::format("{}: invalid stored web proxy settings", where));
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

std::string targets_to_text(const std::vector<ResolvedTarget>& targets) {
    auto list = nlohmann::json::array();
    for (const auto& target : targets)
        list.push_back({{"name", target.name}, {"address", target.address}});
    return list.dump();
}

std::vector<ResolvedTarget> targets_from_text(const std::string& where, const std::string& uri,
                                              const std::string& text) {
    const auto list = nlohmann::json::parse(text, nullptr, false);
    auto invalid = [&] {
        return StoreError(fmt::format("{}: invalid stored targets for {}", where, uri));
    };
    if (!list.is_array()) throw invalid();
    std::vector<ResolvedTarget> targets;
    for (const auto& item : list) {
        if (!item.is_object() || !item.value("name", nlohmann::json()).is_string() ||
            !item.value("address", nlohmann::json()).is_string())
            throw invalid();
        targets.push_back({item["name"].get<std::string>(), item["address"].get<std::string>()});
    }
    return targets;
}

}  // namespace edgeway::allowlist::store
