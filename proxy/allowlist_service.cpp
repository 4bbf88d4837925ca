#include "proxy/allowlist_service.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <nlohmann/json.hpp>

namespace edgeway::proxy {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;

namespace {

std::string now_iso() {
    const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&now, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

std::string describe_targets(const std::vector<allowlist::ResolvedTarget>& targets) {
    std::string text;
    for (const auto& target : targets) {
        if (!text.empty()) text += ", ";
        text += target.name + " " + target.address;
    }
    return text;
}

}  // namespace

AllowlistService::AllowlistService(const LiveConfig<CoreConfig>& config, Logger& log)
    : config_(config), log_(log), resolver_(config) {
    settings_.join_urls = config.get()->join_urls;
    for (const auto& uri : settings_.join_urls)
        join_uris_.push_back(allowlist::parse_join_uri(uri));
    for (const auto& uri : join_uris_) domains_.push_back(uri.host);
}

std::vector<std::string> AllowlistService::domains() const {
    std::lock_guard lock(domains_mutex_);
    return domains_;
}

bool AllowlistService::configured(const std::string& uri) const {
    for (const auto& known : join_uris_)
        if (known.uri == uri) return true;
    return false;
}

bool AllowlistService::configured_host(const std::string& host) const {
    for (const auto& known : join_uris_)
        if (known.host == host) return true;
    return false;
}

bool AllowlistService::apply_settings() {
    allowlist::WebProxySettings wanted;
    wanted.join_urls = config_.get()->join_urls;
    if (auto stored = store_->web_proxy()) wanted = std::move(*stored);
    if (wanted == settings_) return false;
    if (wanted.enabled != settings_.enabled)
        log_.warn("web proxy {} by an administrator", wanted.enabled ? "enabled" : "DISABLED");
    const bool uris_changed = wanted.join_urls != settings_.join_urls;
    std::vector<allowlist::JoinUri> uris;
    for (const auto& uri : wanted.join_urls) uris.push_back(allowlist::parse_join_uri(uri));
    settings_ = std::move(wanted);
    if (!uris_changed) return false;
    log_.info("guest account client URIs now: {}", fmt::join(settings_.join_urls, ", "));
    join_uris_ = std::move(uris);
    std::erase_if(last_, [&](const auto& entry) { return !configured(entry.first); });
    std::erase_if(last_good_, [&](const auto& entry) { return !configured(entry.first); });
    std::lock_guard lock(domains_mutex_);
    domains_.clear();
    for (const auto& uri : join_uris_) domains_.push_back(uri.host);
    return true;
}

AllowlistService::~AllowlistService() {
    stop();
}

void AllowlistService::start() {
    const auto config = config_.get();
    const auto file = config->state_directory / allowlist::kRuleDatabaseFile;
    try {
        store_ = allowlist::open_rule_storage(config->state, file);
    } catch (const std::exception& e) {
        throw std::runtime_error(std::string("cannot open the allow list: ") + e.what());
    }
    try {
        apply_settings();
        // What the storage holds is served at once: after a restart the edges get the last
        // known rules (automatic ones included) before the first DNS answer.
        publish();
    } catch (const state::Unavailable& e) {
        log_.error(
            "cannot read the allow list from {}: {}; the edges get it once the store "
            "answers",
            store_->where(), e.what());
    }
    follower_ = store_->follow(
        [this] { asio::post(io_, [this] { changed_elsewhere(); }); },
        [this](const std::string& problem) {
            store_lost_ = true;
            log_.warn(
                "the cluster store is unreachable ({}); serving the rules this core has "
                "until it is back",
                problem);
        });
    auto on_error = [this](std::exception_ptr error) {
        if (!error) return;
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& e) {
            log_.error("allow list service stopped: {}", e.what());
        }
    };
    asio::co_spawn(io_, discovery_loop(), on_error);
    thread_ = std::thread([this] { io_.run(); });
}

void AllowlistService::configuration_changed() {
    asio::post(io_, [this] {
        try {
            apply_settings();
        } catch (const std::exception& e) {
            log_.warn("applying the reloaded join URLs failed: {}", e.what());
        }
        rediscover_ = true;
        discovery_timer_.cancel();
    });
}

void AllowlistService::stop() {
    follower_.reset();  // its thread posts to io_: stopped first
    if (!thread_.joinable()) return;
    io_.stop();
    thread_.join();
}

void AllowlistService::publish() {
    allowlist::RuleSet set = store_->rule_set();
    const auto current = published_.load();
    if (current && current->version() == set.version) return;
    auto next = std::make_shared<PublishedRules>();
    next->enabled = settings_.enabled;
    if (!settings_.enabled) set.rules.clear();
    next->wire = allowlist::rule_set_to_json(set).dump() + "\n";
    std::size_t automatic = 0;
    for (const auto& rule : set.rules) automatic += rule.origin == allowlist::Origin::automatic;
    const std::size_t total = set.rules.size();
    const std::uint64_t version = set.version;
    next->rules = std::make_shared<allowlist::CompiledRules>(std::move(set));
    published_.store(std::move(next));
    if (settings_.enabled)
        log_.info("allow list version {}: {} automatic and {} editable rules", version, automatic,
                  total - automatic);
    else
        log_.info("allow list version {}: empty, the web proxy is disabled", version);
    for (const auto& listener : listeners_) listener();
}

void AllowlistService::changed_elsewhere() {
    try {
        if (apply_settings()) {  // resolve the new URIs now
            rediscover_ = true;
            discovery_timer_.cancel();
        }
        publish();
        if (store_lost_.exchange(false)) log_.info("the cluster store answers again");
    } catch (const std::exception& e) {
        log_.warn("reading the allow list failed: {}", e.what());
    }
}

awaitable<void> AllowlistService::discovery_loop() {
    for (;;) {
        rediscover_ = false;
        co_await discover_once();
        if (rediscover_) continue;  // the URIs changed while this round ran
        discovery_timer_.expires_after(config_.get()->discovery_interval);
        co_await discovery_timer_.async_wait(asio::as_tuple(use_awaitable));
    }
}

void AllowlistService::log_resolution(const allowlist::Resolution& now) {
    auto it = last_.find(now.uri.uri);
    const bool first = it == last_.end();
    if (!first && it->second.targets == now.targets && it->second.error == now.error) return;
    if (!now.error.empty())
        log_.warn(
            "guest account client URI {}: resolution failed ({}); keeping its last good "
            "rules",
            now.uri.uri, now.error);
    else if (now.targets.empty())
        log_.warn(
            "guest account client URI {}: {} does not resolve; its automatic rules are "
            "removed",
            now.uri.uri, now.uri.host);
    else
        log_.info("guest account client URI {} resolved to the following targets: {}", now.uri.uri,
                  describe_targets(now.targets));
    last_[now.uri.uri] = now;
}

awaitable<void> AllowlistService::discover_once() {
    std::vector<allowlist::Resolution> effective;
    std::vector<allowlist::TargetStatus> statuses;
    bool changed = false;
    for (const auto& uri : join_uris_) {
        allowlist::Resolution now = co_await resolver_.resolve(uri);
        auto previous = last_.find(uri.uri);
        changed = changed || previous == last_.end() || previous->second.targets != now.targets ||
                  previous->second.error != now.error;
        log_resolution(now);
        if (now.error.empty()) last_good_[uri.uri] = now;
        statuses.push_back({uri.uri, now.targets, now.error, now_iso()});
        if (auto good = last_good_.find(uri.uri); good != last_good_.end())
            effective.push_back(good->second);
    }
    resolver_.discovered(effective);
    try {
        if (changed) store_->set_targets(statuses);
        // Before the first good answer of a URI (say DNS is down at start-up), its rules from
        // the database stay as they are.
        std::vector<allowlist::Rule> rules = allowlist::automatic_rules(effective);
        bool all_known = effective.size() == join_uris_.size();
        if (!all_known)
            for (const auto& rule : store_->automatic_rules()) {
                if (!configured_host(rule.host)) continue;  // its URI was removed
                bool known = false;
                for (const auto& r : effective) known = known || r.uri.host == rule.host;
                if (!known && std::find(rules.begin(), rules.end(), rule) == rules.end())
                    rules.push_back(rule);
            }
        if (store_->set_automatic_rules(rules)) publish();
    } catch (const std::exception& e) {
        log_.warn("updating the automatic rules failed: {}", e.what());
    }
    if (!checked_once_) {
        // From here on the edges get rules that reflect this start's DNS answers, not only what
        // the database held.
        checked_once_ = true;
        if (const auto current = published_.load())
            log_.info("join URLs checked at start-up: allow list version {} is current",
                      current->version());
    }
}

}  // namespace edgeway::proxy
