#include "proxy/allowlist_feed.hpp"

#include <nlohmann/json.hpp>

namespace edgeway::proxy {

namespace asio = boost::asio;
using asio::awaitable;

namespace {

// Parses and compiles one line of the feed; applies it when its version is new (for a
// cluster's sets: higher than the one applied). Returns false
// (and logs why) when the line is not a valid rule set.
bool apply_line(std::string_view line, SharedRules& rules, Logger& log, const std::string& peer) {
    std::shared_ptr<PublishedRules> next;
    try {
        auto set = allowlist::rule_set_from_json(nlohmann::json::parse(line));
        next = std::make_shared<PublishedRules>();
        next->rules = std::make_shared<allowlist::CompiledRules>(std::move(set));
    } catch (const std::exception& e) {
        log.error("allow list from {} refused: {}", peer, e.what());
        return false;
    }
    const auto current = rules.load();
    const auto& set = next->rules->rule_set();
    std::optional<SetVersion> held;
    if (current) held = SetVersion{current->version(), current->rules->rule_set().cluster};
    switch (decide(held ? &*held : nullptr, {set.version, set.cluster})) {
        case SetDecision::same:
            return true;
        case SetDecision::older:
            log.info("allow list version {} from {} ignored: version {} is newer", set.version,
                     peer, current->version());
            return true;
        case SetDecision::apply:
            break;
    }
    std::size_t automatic = 0;
    for (const auto& rule : set.rules) automatic += rule.origin == allowlist::Origin::automatic;
    const auto version = set.version;
    const std::size_t editable = set.rules.size() - automatic;
    // Stored before it is logged: a test (or an operator) that saw the line may rely on it.
    rules.store(std::move(next));
    log.info("allow list version {} applied ({} automatic and {} editable rules) from {}", version,
             automatic, editable, peer);
    return true;
}

}  // namespace

bool is_allowlist_feed(const LinkStream& stream) {
    return control_feed_of(stream) == kAllowlistFeed;
}

// The arguments are named before the co_await: GCC 12 may destroy a temporary made inside a
// co_await expression twice.
awaitable<void> serve_allowlist_feed(std::shared_ptr<LinkStream> stream, const SharedRules& rules,
                                     Broadcast& changed) {
    std::function<std::shared_ptr<const std::string>()> current =
        [&rules]() -> std::shared_ptr<const std::string> {
        auto published = rules.load();
        if (!published) return nullptr;
        return {published, &published->wire};  // shares the published set's ownership
    };
    co_await serve_control_feed(std::move(stream), std::move(current), changed);
}

awaitable<void> receive_allowlist_feed(std::shared_ptr<LinkSession> link, SharedRules& rules,
                                       Logger& log) {
    const std::string peer = link->peer();
    const ControlFeed feed{kAllowlistFeed, "/allowlist", "allow-list feed"};
    // The link outlives the feed that reads it: receive_control_feed holds it.
    LinkSession* session = link.get();
    std::function<bool(std::string_view)> apply = [&rules, &log, peer,
                                                   session](std::string_view line) {
        if (!apply_line(line, rules, log, peer)) return false;
        session->mark_rules_delivered();
        return true;
    };
    co_await receive_control_feed(std::move(link), feed, std::move(apply), log);
}

}  // namespace edgeway::proxy
