// The allow list as the request path sees it: an immutable compiled rule set, swapped atomically
// when a new version arrives, so the hot path takes no lock and never sees half an update.
#pragma once

#include "allowlist/allowlist.hpp"

#include <atomic>
#include <memory>
#include <string>

namespace edgeway::proxy {

struct PublishedRules {
    std::shared_ptr<const allowlist::CompiledRules> rules;
    std::string wire;  // core: the rule set as one NDJSON line, as pushed to the edges
    // Core: false when an operator disabled the web proxy. The set pushed to the edges is then
    // empty, so they refuse everything, and the core answers 503 to anything that still comes.
    bool enabled = true;
    std::uint64_t version() const { return rules->version(); }
};

class SharedRules {
  public:
    // Null until the first rule set: the edge then refuses everything.
    std::shared_ptr<const PublishedRules> load() const {
        return current_.load(std::memory_order_acquire);
    }
    void store(std::shared_ptr<const PublishedRules> rules) {
        current_.store(std::move(rules), std::memory_order_release);
    }

  private:
    std::atomic<std::shared_ptr<const PublishedRules>> current_;
};

// The outcome of normalising and matching one request, on the edge or the core.
struct AccessCheck {
    unsigned status = 0;  // 0: allowed; otherwise the status to answer (400, 403, 405, 421, 503)
    std::string reason;   // for the log
    allowlist::NormalizedRequest request;  // valid when the request could be normalised
    std::string rule;                      // allowed: the rule that allowed it, described
};

// The one check both sides run: normalise, then match against rules (null: none received yet).
AccessCheck check_access(const allowlist::RequestHead& head, const PublishedRules* rules);

}  // namespace edgeway::proxy
