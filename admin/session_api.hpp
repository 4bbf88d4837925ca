// /api/v1/session: log in (POST), who am I (GET), log out (DELETE).
#pragma once

#include "admin/admin_state.hpp"
#include "admin/http_types.hpp"

#include "common/log.hpp"

#include <optional>

namespace edgeway::admin {

class SessionApi {
  public:
    SessionApi(AdminState& state, Logger& log) : state_(state), log_(log) {}

    // {"user", "password"} -> 200 {"user", "csrf_token"} and the session cookie; 401 for a
    // wrong password or an unknown user alike; 429 with Retry-After while the client is locked
    // out.
    Response login(const Request& request, const RequestContext& context);
    Response logout(const Request& request, const Session& session, const RequestContext& context);
    static Response describe(const Session& session);
    // HTTP Basic authentication with an admin account (Prometheus' basic_auth for /metrics):
    // nothing when the Authorization header names an account and its password; else the 401
    // (with WWW-Authenticate) or 429 to answer. Failures count towards the login lockout.
    std::optional<Response> basic_auth(const Request& request, const RequestContext& context);

  private:
    // Checks a password (the decoy hash for unknown users, so both take as long), logs and
    // counts a failure.
    bool check_password(const std::string& user, const std::string& password,
                        const RequestContext& context);

    AdminState& state_;
    Logger& log_;
};

// The Set-Cookie value for a session token; an empty token clears the cookie.
std::string session_cookie(const std::string& token, std::chrono::seconds max_age);

}  // namespace edgeway::admin
