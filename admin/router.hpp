// Turns one request into one response: the API under /api/v1 (with its session, CSRF and
// same-origin gates), the pages (which need a session, else they redirect to the login page)
// and the UI's assets. Every answer gets the security headers.
#pragma once

#include "admin/admin_state.hpp"
#include "admin/http_types.hpp"
#include "admin/rules_api.hpp"
#include "admin/session_api.hpp"

#include "common/log.hpp"

#include <optional>

namespace edgeway::admin {

class Router {
  public:
    Router(AdminState& state, Logger& log);
    Response handle(const Request& request, const RequestContext& context);

  private:
    Response route(const Request& request, const RequestContext& context);
    Response api(const Request& request, std::string_view path, std::string_view query,
                 const RequestContext& context);
    Response page(const Request& request, std::string_view path);
    Session* session_of(const Request& request);

    AdminState& state_;
    Logger& log_;
    SessionApi session_api_;
    std::optional<RulesApi> rules_api_;
};

}  // namespace edgeway::admin
