// The compiled matcher. Rules are grouped by (protocol, host, port); in a group, exact paths sit
// in a hash table and prefixes in a sorted table where every entry knows its longest proper
// prefix in the table (its parent) and the union of the methods of itself and all its ancestors.
// One binary search finds the longest prefix rule of a path, and that union answers "does any
// prefix rule allow this method" without looking at more entries.
//
// A check runs for every request on the edge and again on the core, with up to tens of
// thousands of rules, so each group keeps its paths, tables and rule lists in a few contiguous
// arrays: a lookup touches a handful of cache lines and allocates nothing.
#include "allowlist/allowlist.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <functional>
#include <map>
#include <unordered_map>

namespace edgeway::allowlist {
namespace {

struct GroupKey {
    Protocol protocol;
    std::uint16_t port;
    std::string_view host;  // into the rule set the CompiledRules owns
    bool operator==(const GroupKey&) const = default;
};

struct GroupKeyHash {
    std::size_t operator()(const GroupKey& key) const noexcept {
        const std::size_t salt = (static_cast<std::size_t>(key.port) << 1) |
                                 static_cast<std::size_t>(key.protocol == Protocol::wss);
        return std::hash<std::string_view>{}(key.host) ^ (salt * 0x9E3779B97F4A7C15ull);
    }
};

// One rule of an entry with its methods at hand, so choosing the deciding rule does not touch
// the rules themselves.
struct Slot {
    std::uint32_t rule;  // index in the rule set
    MethodSet methods;
};

// A path in the group's arena.
struct PathRef {
    std::uint32_t offset = 0;
    std::uint32_t length = 0;
};

struct Entry {
    PathRef path;
    MethodSet methods = 0;     // union of the entry's rules
    MethodSet cumulative = 0;  // prefixes: ... and of every shorter prefix of it in the table
    std::int32_t parent = -1;  // prefixes: the longest proper prefix of it in the table
    std::uint32_t first_slot = 0;
    std::uint32_t slot_count = 0;
};

// Open addressing with linear probing; a bucket holds the entry index + 1 (0: empty) and
// 32 bits of the hash, so most misses are settled without reading a path.
struct Bucket {
    std::uint32_t hash = 0;
    std::uint32_t entry_plus_one = 0;
};

struct Group {
    std::string paths;  // every path of the group, back to back
    std::vector<Slot> slots;
    std::vector<Entry> exact;
    std::vector<Bucket> buckets;  // a power of two, at most half full
    std::vector<Entry> prefixes;  // sorted by path, unique

    std::string_view path(const Entry& entry) const {
        return {paths.data() + entry.path.offset, entry.path.length};
    }
};

std::size_t hash_path(std::string_view path) {
    return std::hash<std::string_view>{}(path);
}

// The rules of one group, gathered before the group is laid out.
struct PendingGroup {
    std::unordered_map<std::string_view, std::vector<std::uint32_t>> exact;
    std::map<std::string_view, std::vector<std::uint32_t>> prefixes;  // sorted
};

Entry add_entry(Group& group, std::string_view path, const std::vector<std::uint32_t>& rules,
                const std::vector<Rule>& all) {
    Entry entry;
    entry.path = {static_cast<std::uint32_t>(group.paths.size()),
                  static_cast<std::uint32_t>(path.size())};
    group.paths.append(path);
    entry.first_slot = static_cast<std::uint32_t>(group.slots.size());
    entry.slot_count = static_cast<std::uint32_t>(rules.size());
    for (const std::uint32_t i : rules) {  // ascending: rule-set order
        group.slots.push_back(Slot{i, all[i].methods});
        entry.methods |= all[i].methods;
    }
    return entry;
}

void build_exact_table(Group& group) {
    const std::size_t size = std::bit_ceil(std::max<std::size_t>(2 * group.exact.size(), 8));
    group.buckets.assign(size, Bucket{});
    for (std::size_t i = 0; i < group.exact.size(); ++i) {
        const std::size_t hash = hash_path(group.path(group.exact[i]));
        std::size_t at = hash & (size - 1);
        while (group.buckets[at].entry_plus_one != 0) at = (at + 1) & (size - 1);
        group.buckets[at] =
            Bucket{static_cast<std::uint32_t>(hash >> 32), static_cast<std::uint32_t>(i + 1)};
    }
}

// Sorted order puts every prefix before the strings that start with it, so a stack of the
// current chain of prefixes yields each entry's parent in one pass.
void link_parents(Group& group) {
    std::vector<std::int32_t> chain;
    for (std::size_t i = 0; i < group.prefixes.size(); ++i) {
        Entry& entry = group.prefixes[i];
        const std::string_view path = group.path(entry);
        while (!chain.empty() && !path.starts_with(group.path(group.prefixes[chain.back()])))
            chain.pop_back();
        entry.parent = chain.empty() ? -1 : chain.back();
        entry.cumulative =
            entry.methods | (chain.empty() ? 0 : group.prefixes[chain.back()].cumulative);
        chain.push_back(static_cast<std::int32_t>(i));
    }
}

Group lay_out(const PendingGroup& pending, const std::vector<Rule>& all) {
    Group group;
    for (const auto& [path, rules] : pending.exact)
        group.exact.push_back(add_entry(group, path, rules, all));
    for (const auto& [path, rules] : pending.prefixes)
        group.prefixes.push_back(add_entry(group, path, rules, all));
    build_exact_table(group);
    link_parents(group);
    return group;
}

const Entry* find_exact(const Group& group, std::string_view path) {
    const std::size_t hash = hash_path(path);
    const auto tag = static_cast<std::uint32_t>(hash >> 32);
    const std::size_t mask = group.buckets.size() - 1;
    for (std::size_t at = hash & mask;; at = (at + 1) & mask) {
        const Bucket& bucket = group.buckets[at];
        if (bucket.entry_plus_one == 0) return nullptr;
        const Entry& entry = group.exact[bucket.entry_plus_one - 1];
        if (bucket.hash == tag && group.path(entry) == path) return &entry;
    }
}

std::size_t common_prefix_length(std::string_view a, std::string_view b) {
    const auto [ia, ib] = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
    return static_cast<std::size_t>(ia - a.begin());
}

// The longest entry that is a prefix of path, or -1. The greatest entry <= path is it when it
// is a prefix of path; otherwise every prefix entry of path is also a prefix of that candidate,
// of at most their common length, so it is the first ancestor of the candidate that short.
std::int32_t longest_prefix(const Group& group, std::string_view path) {
    const auto& prefixes = group.prefixes;
    const auto after = std::upper_bound(
        prefixes.begin(), prefixes.end(), path,
        [&](std::string_view p, const Entry& entry) { return p < group.path(entry); });
    if (after == prefixes.begin()) return -1;
    auto index = static_cast<std::int32_t>(after - prefixes.begin() - 1);
    const std::string_view candidate = group.path(prefixes[index]);
    if (path.starts_with(candidate)) return index;
    const std::size_t common = common_prefix_length(candidate, path);
    while (index >= 0 && prefixes[index].path.length > common) index = prefixes[index].parent;
    return index;
}

// The earliest rule of the entry that allows the method (callers checked the union).
std::uint32_t first_allowing(const Group& group, const Entry& entry, MethodSet bit) {
    for (std::uint32_t i = 0; i < entry.slot_count; ++i) {
        const Slot& slot = group.slots[entry.first_slot + i];
        if (slot.methods & bit) return slot.rule;
    }
    return group.slots[entry.first_slot].rule;
}

// Refusal reasons are built with plain appends into one allocation: most requests a busy edge
// refuses are noise (scanners), and their cost should stay close to that of an allowed one.

// Appends "https join.example.com:443".
void append_where(std::string& out, const NormalizedRequest& request) {
    out += protocol_name(request.protocol);
    out += ' ';
    out += request.host;
    out += ':';
    char digits[8];
    out.append(digits, std::to_chars(digits, digits + sizeof digits, request.port).ptr);
}

std::string no_group(const NormalizedRequest& request) {
    std::string reason;
    reason.reserve(32 + request.host.size());
    reason += "no rule for ";
    append_where(reason, request);
    return reason;
}

std::string no_path(const NormalizedRequest& request) {
    std::string reason;
    reason.reserve(48 + request.path.size() + request.host.size());
    reason += "no rule matches path ";
    reason += request.path;
    reason += " on ";
    append_where(reason, request);
    return reason;
}

std::string no_method(const NormalizedRequest& request, const Rule& closest) {
    constexpr std::string_view kBefore = "method ";
    constexpr std::string_view kAfter = " is not allowed by ";
    const std::string_view method = method_name(request.method);
    std::string reason = closest.describe();  // has room reserved for the words in front
    reason.insert(0, kAfter);
    reason.insert(0, method);
    reason.insert(0, kBefore);
    return reason;
}

}  // namespace

struct CompiledRules::Index {
    std::unordered_map<GroupKey, Group, GroupKeyHash> groups;
};

CompiledRules::CompiledRules(RuleSet set)
    : set_(std::move(set)), index_(std::make_unique<Index>()) {
    std::unordered_map<GroupKey, PendingGroup, GroupKeyHash> pending;
    for (std::size_t i = 0; i < set_.rules.size(); ++i) {
        const Rule& rule = set_.rules[i];
        PendingGroup& group = pending[GroupKey{rule.protocol, rule.port, rule.host}];
        auto& rules =
            rule.match == Match::exact ? group.exact[rule.path] : group.prefixes[rule.path];
        rules.push_back(static_cast<std::uint32_t>(i));
    }
    for (const auto& [key, group] : pending)
        index_->groups.emplace(key, lay_out(group, set_.rules));
}

CompiledRules::~CompiledRules() = default;

Decision CompiledRules::check(const NormalizedRequest& request) const {
    const auto found = index_->groups.find(GroupKey{request.protocol, request.port, request.host});
    if (found == index_->groups.end()) return Decision{false, nullptr, no_group(request)};
    const Group& group = found->second;
    const MethodSet bit = method_bit(request.method);
    const auto& rules = set_.rules;

    // Exact rules are the most specific, so they name the decision when they match.
    const Entry* exact = find_exact(group, request.path);
    if (exact && (exact->methods & bit))
        return Decision{true, &rules[first_allowing(group, *exact, bit)], {}};

    // Then the longest prefix whose own rules allow the method, found by walking up its parents
    // once the cumulative union says one of them does.
    std::int32_t prefix = longest_prefix(group, request.path);
    if (prefix >= 0 && (group.prefixes[prefix].cumulative & bit)) {
        while (!(group.prefixes[prefix].methods & bit)) prefix = group.prefixes[prefix].parent;
        return Decision{true, &rules[first_allowing(group, group.prefixes[prefix], bit)], {}};
    }

    const Entry* closest = exact ? exact : prefix >= 0 ? &group.prefixes[prefix] : nullptr;
    if (!closest) return Decision{false, nullptr, no_path(request)};
    const Rule* rule = &rules[group.slots[closest->first_slot].rule];
    return Decision{false, rule, no_method(request, *rule)};
}

}  // namespace edgeway::allowlist
