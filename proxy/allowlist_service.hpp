// The core's side of the allow list: it owns the rule storage (SQLite, or etcd shared with the
// other cores), resolves the join URLs into automatic rules, follows changes made elsewhere
// (the CLI, the admin API, other cores), and publishes each new version to the request path and
// to the feeds that push it to the edges. It runs on a thread of its own, so a slow store or
// DNS never holds up traffic; when the store is unreachable it keeps serving what it has.
#pragma once

#include "allowlist/allowlist.hpp"
#include "proxy/inside_resolver.hpp"
#include "proxy/shared_rules.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace edgeway::proxy {

class AllowlistService {
  public:
    AllowlistService(const LiveConfig<CoreConfig>& config, Logger& log);
    ~AllowlistService();

    // Called (on the service thread) after every new version is published.
    void on_publish(std::function<void()> listener) { listeners_.push_back(std::move(listener)); }

    // Opens the storage (throws std::runtime_error naming it), publishes what it holds, and
    // starts discovery and following changes on the service thread. An etcd cluster that does
    // not answer yet is no error: the rules are published once it does.
    void start();
    void stop();
    // The configuration was reloaded: its join URLs (unless an operator set the web proxy's
    // own), lab resolver and discovery interval count from a discovery round started at once.
    void configuration_changed();

    const SharedRules& rules() const { return published_; }
    const InsideResolver& resolver() const { return resolver_; }
    // The hosts of the guest account client URIs in use. Safe from any thread.
    std::vector<std::string> domains() const;

  private:
    boost::asio::awaitable<void> discovery_loop();
    // The storage may have changed elsewhere (on the service thread).
    void changed_elsewhere();
    boost::asio::awaitable<void> discover_once();
    void publish();
    void log_resolution(const allowlist::Resolution& now);
    // Takes the web proxy settings an operator stored (or the configuration file's); true when
    // the guest account client URIs changed.
    bool apply_settings();
    bool configured(const std::string& uri) const;
    bool configured_host(const std::string& host) const;

    const LiveConfig<CoreConfig>& config_;
    Logger& log_;
    allowlist::WebProxySettings settings_;  // in effect
    std::vector<allowlist::JoinUri> join_uris_;
    mutable std::mutex domains_mutex_;
    std::vector<std::string> domains_;  // join_uris_' hosts, for other threads
    InsideResolver resolver_;
    std::unique_ptr<allowlist::RuleStorage> store_;  // used on the service thread only
    std::unique_ptr<allowlist::ChangeFollower> follower_;
    std::atomic<bool> store_lost_ = false;  // the follower lost the store; logged when back
    SharedRules published_;
    std::vector<std::function<void()>> listeners_;
    std::map<std::string, allowlist::Resolution> last_;       // per URI: the last answer
    std::map<std::string, allowlist::Resolution> last_good_;  // per URI: the last non-error one
    bool checked_once_ = false;
    bool rediscover_ = false;  // set when the URIs change; the discovery loop starts over
    boost::asio::io_context io_{1};
    boost::asio::steady_timer discovery_timer_{io_};  // cancelled to discover at once
    std::thread thread_;
};

}  // namespace edgeway::proxy
