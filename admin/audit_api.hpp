// The audit log as the API shows it (/api/v1/audit): the rule database's entries (rules, web
// proxy settings; core only) merged with admin.db's (accounts, certificates, the admin
// listener), newest first. record_change writes an admin.db entry and the matching log line.
#pragma once

#include "admin/admin_state.hpp"
#include "admin/http_types.hpp"

#include "common/log.hpp"

#include <string>
#include <string_view>

namespace edgeway::admin {

// Who makes a change: the logged-in user and the address the request came from.
struct ChangeAuthor {
    std::string user;
    std::string client;
    // The rule store's actor name: "admin:alice from 192.0.2.7".
    std::string actor() const { return "admin:" + user + " from " + client; }
};

void record_change(AdminState& state, Logger& log, const ChangeAuthor& author,
                   std::string_view action, std::string_view detail);

// GET /api/v1/audit[?limit=N] (1-1000, default 100).
Response audit_list(AdminState& state, std::string_view query);

}  // namespace edgeway::admin
