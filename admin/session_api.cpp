#include "admin/session_api.hpp"

#include "admin/password.hpp"
#include "admin/secrets.hpp"

#include <fmt/format.h>

namespace edgeway::admin {
namespace {

// A user name as it appears in the log: quoted and escaped, so input cannot forge log lines.
std::string quoted(const std::string& text) {
    return json(text).dump(-1, ' ', false, json::error_handler_t::replace);
}

Response too_many_attempts(std::chrono::seconds left) {
    Response response = error_response(
        http::status::too_many_requests,
        fmt::format("Too many failed logins from this address. Try again in {} seconds.",
                    left.count()));
    response.set(http::field::retry_after, std::to_string(left.count()));
    return response;
}

}  // namespace

std::string session_cookie(const std::string& token, std::chrono::seconds max_age) {
    return fmt::format("{}={}; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
                       kSessionCookie, token, token.empty() ? 0 : max_age.count());
}

Response SessionApi::login(const Request& request, const RequestContext& context) {
    if (const auto left = state_.login_limiter.locked_for(context.client); left.count() > 0)
        return too_many_attempts(left);
    const json body = json::parse(request.body(), nullptr, false);
    if (!body.is_object() || !body.contains("user") || !body["user"].is_string() ||
        !body.contains("password") || !body["password"].is_string())
        return error_response(http::status::bad_request,
                              R"(Expected a JSON object {"user": "...", "password": "..."}.)");
    const std::string user = body["user"].get<std::string>();
    const std::string password = body["password"].get<std::string>();

    if (!check_password(user, password, context))
        return error_response(http::status::unauthorized, "Wrong user name or password.");
    state_.login_limiter.succeeded(context.client);
    const std::string token = state_.sessions.create(user);
    const Session* session = state_.sessions.find(token);
    log_.info("login: user {} from {}", quoted(user), context.client);
    Response response = describe(*session);
    response.set(http::field::set_cookie, session_cookie(token, state_.sessions.times().absolute));
    return response;
}

bool SessionApi::check_password(const std::string& user, const std::string& password,
                                const RequestContext& context) {
    const auto hash = state_.accounts.password_hash(user);
    const bool ok = verify_password(password, hash ? *hash : state_.decoy_hash) && hash;
    if (ok) return true;
    log_.warn("failed login for user {} from {}{}", quoted(user), context.client,
              hash ? "" : " (no such user)");
    if (state_.login_limiter.failed(context.client))
        log_.warn("login locked out for {} after repeated failures", context.client);
    return false;
}

std::optional<Response> SessionApi::basic_auth(const Request& request,
                                               const RequestContext& context) {
    auto challenge = [] {
        Response response = error_response(http::status::unauthorized,
                                           "Log in, or send HTTP Basic credentials of an admin "
                                           "account.");
        response.set(http::field::www_authenticate, R"(Basic realm="edgeway", charset="UTF-8")");
        return response;
    };
    const std::string_view header = request[http::field::authorization];
    if (!header.starts_with("Basic ") && !header.starts_with("basic ")) return challenge();
    if (const auto left = state_.login_limiter.locked_for(context.client); left.count() > 0)
        return too_many_attempts(left);
    // Standard base64 to base64url, padding dropped.
    std::string text(header.substr(6));
    while (!text.empty() && (text.back() == '=' || text.back() == ' ')) text.pop_back();
    for (char& c : text) c = c == '+' ? '-' : c == '/' ? '_' : c;
    std::string decoded;
    if (!from_base64url(text, decoded)) return challenge();
    const auto colon = decoded.find(':');
    if (colon == std::string::npos) return challenge();
    const std::string user = decoded.substr(0, colon);
    const std::string password = decoded.substr(colon + 1);
    if (!check_password(user, password, context)) return challenge();
    state_.login_limiter.succeeded(context.client);
    return std::nullopt;
}

Response SessionApi::logout(const Request& request, const Session& session,
                            const RequestContext& context) {
    log_.info("logout: user {} from {}", quoted(session.user), context.client);
    state_.sessions.remove(cookie_value(request, kSessionCookie));  // `session` dies here
    Response response(http::status::no_content, 11);
    response.set(http::field::set_cookie, session_cookie("", {}));
    return response;
}

Response SessionApi::describe(const Session& session) {
    return json_response(http::status::ok,
                         {{"user", session.user}, {"csrf_token", session.csrf_token}});
}

}  // namespace edgeway::admin
