// The allow-list part of the API, on the core: rules (list, add, delete) and the targets the
// join URLs resolved to. Every change goes through allowlist::RuleStorage, which
// audits it; the running core notices the committed change and pushes the new rule set to the
// edges, so nothing here talks to the proxy.
#pragma once

#include "admin/admin.hpp"
#include "admin/http_types.hpp"

#include "allowlist/allowlist.hpp"
#include "common/log.hpp"

#include <optional>
#include <string_view>

namespace edgeway::admin {

class RulesApi {
  public:
    RulesApi(allowlist::RuleStorage& store, Logger& log, const Hooks& hooks)
        : store_(store), log_(log), hooks_(hooks) {}

    // path is what follows /api/v1/ ("rules", "rules/12", "status/targets"); nothing
    // when the path is not one of these. actor names who makes a change, for the audit log.
    std::optional<Response> handle(const Request& request, std::string_view path,
                                   std::string_view query, const allowlist::Actor& actor);

  private:
    Response list();
    Response add(const Request& request, const allowlist::Actor& actor);
    Response remove(std::string_view id_text, const allowlist::Actor& actor);
    Response targets();

    allowlist::RuleStorage& store_;
    Logger& log_;
    const Hooks& hooks_;  // the running core's web bridge health
};

// The field a RuleError message names (`field "methods": expected ...`), or nothing.
std::optional<std::string> field_of(std::string_view message);

}  // namespace edgeway::admin
