#include "admin/router.hpp"

#include "admin/assets.hpp"
#include "admin/secrets.hpp"

#include <boost/beast/core/string.hpp>

namespace edgeway::admin {
namespace {

constexpr std::string_view kApiPrefix = "/api/v1/";

bool changes_state(http::verb method) {
    return method == http::verb::post || method == http::verb::put || method == http::verb::patch ||
           method == http::verb::delete_;
}

// A browser names the page's origin in Origin on state-changing requests; one from another
// site (or "null", a sandboxed frame) must not act with this site's cookie. SameSite=Strict
// and the CSRF token already stop that; this is the third lock.
bool same_origin(const Request& request) {
    const auto origin = request.find(http::field::origin);
    if (origin == request.end()) return true;
    const std::string expected = "https://" + std::string(request[http::field::host]);
    return boost::beast::iequals(origin->value(), expected);
}

bool is_json(const Request& request) {
    const std::string_view type = request[http::field::content_type];
    const std::string_view media = type.substr(0, type.find(';'));
    return boost::beast::iequals(media, "application/json");
}

const Asset* page_asset(std::string_view path) {
    if (path == "/login") return find_asset("login.html");
    if (path == "/rules") return find_asset("rules.html");
    if (path == "/webproxy") return find_asset("webproxy.html");
    return nullptr;
}

Response not_found_page() {
    Response response(http::status::not_found, 11);
    response.set(http::field::content_type, "text/plain; charset=utf-8");
    response.body() = "Not found.\n";
    return response;
}

}  // namespace

Router::Router(AdminState& state, Logger& log)
    : state_(state), log_(log), session_api_(state, log) {
    if (state_.rules) rules_api_.emplace(*state_.rules, log_);
}

Response Router::handle(const Request& request, const RequestContext& context) {
    Response response;
    try {
        response = route(request, context);
    } catch (const std::exception& e) {
        log_.error("{} {} from {} failed: {}", std::string(request.method_string()),
                   std::string(request.target()), context.client, e.what());
        response = error_response(http::status::internal_server_error,
                                  "The request failed on the server; see its log.");
    }
    add_security_headers(response);
    return response;
}

Session* Router::session_of(const Request& request) {
    return state_.sessions.find(cookie_value(request, kSessionCookie));
}

Response Router::route(const Request& request, const RequestContext& context) {
    const std::string_view target = request.target();
    const auto question = target.find('?');
    const std::string_view path = target.substr(0, question);
    const std::string_view query =
        question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
    if (path.starts_with(kApiPrefix))
        return api(request, path.substr(kApiPrefix.size()), query, context);
    if (path == "/api" || path.starts_with("/api/"))
        return error_response(http::status::not_found, "No such API.");
    return page(request, path);
}

Response Router::api(const Request& request, std::string_view path, std::string_view query,
                     const RequestContext& context) {
    const bool writes = changes_state(request.method());
    if (writes && !same_origin(request))
        return error_response(http::status::forbidden,
                              "Cross-origin request refused: Origin is not this server.");
    if (writes && !request.body().empty() && !is_json(request))
        return error_response(http::status::unsupported_media_type,
                              "Send the body as Content-Type: application/json.");
    if (path == "session" && request.method() == http::verb::post)
        return session_api_.login(request, context);

    Session* session = session_of(request);
    if (!session) return error_response(http::status::unauthorized, "Not logged in.");
    if (writes && !equal_secrets(request[kCsrfHeader], session->csrf_token))
        return error_response(http::status::forbidden,
                              "Missing or wrong X-CSRF-Token header (reload the page).");

    if (path == "session") {
        if (request.method() == http::verb::get) return SessionApi::describe(*session);
        if (request.method() == http::verb::delete_)
            return session_api_.logout(request, *session, context);
        Response response =
            error_response(http::status::method_not_allowed, "Allowed: GET, POST, DELETE");
        response.set(http::field::allow, "GET, POST, DELETE");
        return response;
    }
    if (rules_api_) {
        const allowlist::Actor actor{"admin:" + session->user + " from " + context.client};
        if (auto response = rules_api_->handle(request, path, query, actor))
            return std::move(*response);
    }
    return error_response(http::status::not_found, "No such API.");
}

Response Router::page(const Request& request, std::string_view path) {
    if (request.method() != http::verb::get && request.method() != http::verb::head) {
        Response response(http::status::method_not_allowed, 11);
        response.set(http::field::allow, "GET, HEAD");
        return response;
    }
    if (path == "/") return redirect(session_of(request) ? "/rules" : "/login");
    if (path.starts_with("/assets/")) {
        const Asset* asset = find_asset(path.substr(8));
        if (!asset || asset->name.ends_with(".html")) return not_found_page();
        Response response = content_response(asset->content_type, std::string(asset->body));
        response.set(http::field::cache_control, "no-cache");
        return response;
    }
    const Asset* asset = page_asset(path);
    if (!asset) return not_found_page();
    if (path != "/login" && !session_of(request)) return redirect("/login");
    return content_response(asset->content_type, std::string(asset->body));
}

}  // namespace edgeway::admin
