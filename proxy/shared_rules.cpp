#include "proxy/shared_rules.hpp"

namespace edgeway::proxy {

AccessCheck check_access(const allowlist::RequestHead& head, const PublishedRules* rules) {
    AccessCheck result;
    auto normalized = allowlist::normalize(head);
    if (auto* refusal = std::get_if<allowlist::Refusal>(&normalized)) {
        result.status = refusal->status;
        result.reason = std::move(refusal->reason);
        return result;
    }
    result.request = std::move(std::get<allowlist::NormalizedRequest>(normalized));
    if (!rules) {
        result.status = 503;
        result.reason = "no allow list received from the inside yet";
        return result;
    }
    const auto decision = rules->rules->check(result.request);
    if (!decision.allowed) {
        result.status = 403;
        result.reason = decision.reason;
        return result;
    }
    result.rule = decision.rule ? decision.rule->describe() : std::string();
    return result;
}

}  // namespace edgeway::proxy
