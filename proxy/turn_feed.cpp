#include "proxy/turn_feed.hpp"

namespace edgeway::proxy {

namespace asio = boost::asio;
using asio::awaitable;

bool is_turn_feed(const LinkStream& stream) {
    return control_feed_of(stream) == kTurnFeed;
}

// The arguments are named before the co_await: GCC 12 may destroy a temporary made inside a
// co_await expression twice.
awaitable<void> serve_turn_feed(std::shared_ptr<LinkStream> stream,
                                const turn::CredentialPublisher& credentials, Broadcast& changed) {
    std::function<std::shared_ptr<const std::string>()> current = [&credentials] {
        return credentials.wire();
    };
    co_await serve_control_feed(std::move(stream), std::move(current), changed);
}

bool apply_turn_credentials(std::string_view line, turn::PushedCredentials& credentials,
                            Logger& log, const std::string& peer) {
    std::shared_ptr<const turn::CredentialSet> next;
    try {
        next = std::make_shared<const turn::CredentialSet>(turn::credential_set_from_json(line));
    } catch (const std::exception& e) {
        log.error("TURN credentials from {} refused: {}", peer, e.what());
        return false;
    }
    const auto current = credentials.load();
    std::optional<SetVersion> held;
    if (current) held = SetVersion{current->version, current->cluster};
    switch (decide(held ? &*held : nullptr, {next->version, next->cluster})) {
        case SetDecision::same:
            return true;
        case SetDecision::older:
            log.info("TURN credentials version {} from {} ignored: version {} is newer",
                     next->version, peer, current->version);
            return true;
        case SetDecision::apply:
            break;
    }
    const std::string summary = turn::describe(*next);
    const auto version = next->version;
    // Stored before it is logged: a test (or an operator) that saw the line may rely on it.
    credentials.store(std::move(next));
    log.info("TURN credentials version {} applied ({}) from {}", version, summary, peer);
    return true;
}

awaitable<void> receive_turn_feed(std::shared_ptr<LinkSession> link,
                                  turn::PushedCredentials& credentials, Logger& log) {
    const std::string peer = link->peer();
    const ControlFeed feed{kTurnFeed, "/turn", "TURN credential feed"};
    std::function<bool(std::string_view)> apply = [&credentials, &log,
                                                   peer](std::string_view line) {
        return apply_turn_credentials(line, credentials, log, peer);
    };
    co_await receive_control_feed(std::move(link), feed, std::move(apply), log);
}

}  // namespace edgeway::proxy
