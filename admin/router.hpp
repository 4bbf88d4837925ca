// Turns one request into one response: the API under /api/v1 (with its session, CSRF and
// same-origin gates), /metrics (a session or HTTP Basic), the pages (which need a session, else
// they redirect to the login page) and the UI's assets. Every answer gets the security headers.
#pragma once

#include "admin/accounts_api.hpp"
#include "admin/admin.hpp"
#include "admin/admin_state.hpp"
#include "admin/certificates_api.hpp"
#include "admin/config_api.hpp"
#include "admin/http_types.hpp"
#include "admin/listener_control.hpp"
#include "admin/rules_api.hpp"
#include "admin/session_api.hpp"
#include "admin/status_api.hpp"
#include "admin/turn_users_api.hpp"

#include "common/log.hpp"

#include <optional>

namespace edgeway::admin {

class Router {
  public:
    Router(AdminState& state, Logger& log, const ServerConfig& config, ListenerControl& listener);
    Response handle(const Request& request, const RequestContext& context);

  private:
    Response route(const Request& request, const RequestContext& context);
    Response api(const Request& request, std::string_view path, std::string_view query,
                 const RequestContext& context);
    Response metrics(const Request& request, const RequestContext& context);
    Response node(const Session& session);
    Response page(const Request& request, std::string_view path);
    Session* session_of(const Request& request);
    // Where "/" leads: the first page this node has.
    std::string home() const;

    AdminState& state_;
    Logger& log_;
    const ServerConfig& config_;
    SessionApi session_api_;
    StatusApi status_api_;
    ConfigApi config_api_;
    AccountsApi accounts_api_;
    TurnUsersApi turn_users_api_;
    CertificatesApi certificates_api_;
    std::optional<RulesApi> rules_api_;
};

}  // namespace edgeway::admin
