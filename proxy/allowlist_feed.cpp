#include "proxy/allowlist_feed.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <nlohmann/json.hpp>

namespace edgeway::proxy {

namespace asio = boost::asio;
using asio::awaitable;

namespace {

// A rule set larger than this is not a rule set: the feed is dropped rather than buffered.
constexpr std::size_t kMaxRuleSetBytes = 64 * 1024 * 1024;

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
    if (current && current->version() == next->version()) return true;
    const auto& set = next->rules->rule_set();
    // A cluster numbers its sets alike on every core: an older one comes from a core that has
    // not seen the latest change yet and must not roll this edge back. One core's own numbers
    // (SQLite) are applied whatever they are: its database may have been replaced.
    if (current && set.cluster && current->rules->rule_set().cluster &&
        set.version < current->version()) {
        log.info("allow list version {} from {} ignored: version {} is newer", set.version, peer,
                 current->version());
        return true;
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

awaitable<void> Broadcast::wait() {
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
}

bool is_allowlist_feed(const LinkStream& stream) {
    return find_header(stream.headers(), kControlHeader) == kAllowlistFeed;
}

awaitable<void> serve_allowlist_feed(std::shared_ptr<LinkStream> stream, const SharedRules& rules,
                                     Broadcast& changed) {
    if (stream->respond({{":status", "200"}, {"content-type", "application/x-ndjson"}}, false))
        co_return;
    std::uint64_t sent = 0;
    bool any = false;
    for (;;) {
        const auto current = rules.load();
        if (current && (!any || current->version() != sent)) {
            if (co_await stream->write(current->wire)) co_return;
            sent = current->version();
            any = true;
        }
        co_await changed.wait();
    }
}

namespace {

// Reads the feed until it ends; returns why it ended.
awaitable<std::string> read_feed(LinkSession& link, SharedRules& rules, Logger& log) {
    const Headers request = {{":method", "GET"},
                             {":scheme", "https"},
                             {":authority", "edgeway.internal"},
                             {":path", "/allowlist"},
                             {std::string(kControlHeader), std::string(kAllowlistFeed)}};
    auto stream = link.open_stream(request, true);
    if (!stream) co_return "the link took no new stream";
    if (co_await stream->wait_headers()) co_return "the link failed";
    if (find_header(stream->headers(), ":status") != "200")
        co_return fmt::format("the core refused it (status {})",
                              find_header(stream->headers(), ":status"));
    std::string pending, data;
    while (!co_await stream->read(data)) {
        pending += data;
        std::size_t start = 0;
        for (auto end = pending.find('\n'); end != std::string::npos;
             end = pending.find('\n', start)) {
            if (!apply_line(std::string_view(pending).substr(start, end - start), rules, log,
                            link.peer())) {
                stream->reset(true);
                co_return "it carried an invalid rule set";
            }
            link.mark_rules_delivered();
            start = end + 1;
        }
        pending.erase(0, start);
        if (pending.size() > kMaxRuleSetBytes) {
            stream->reset(true);
            co_return fmt::format("it carried a rule set larger than {} bytes", kMaxRuleSetBytes);
        }
    }
    co_return "the core ended it";
}

}  // namespace

awaitable<void> receive_allowlist_feed(std::shared_ptr<LinkSession> link, SharedRules& rules,
                                       Logger& log) {
    const std::string reason = co_await read_feed(*link, rules, log);
    // A link without its feed would go on serving with rules that no longer change: close it, so
    // that the core dials again and a new feed starts.
    if (link->ready()) {
        log.error("allow-list feed from {} ended: {}; closing the link", link->peer(), reason);
        link->close("the allow-list feed ended");
    }
}

}  // namespace edgeway::proxy
