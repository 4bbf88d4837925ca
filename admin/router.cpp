#include "admin/router.hpp"

#include "admin/assets.hpp"
#include "admin/audit_api.hpp"
#include "admin/metrics.hpp"
#include "admin/secrets.hpp"

#include <boost/beast/core/string.hpp>

#include <cctype>

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

// The pages: path, file. The navigation (common.js) hides those the node lacks.
const Asset* page_asset(std::string_view path) {
    static constexpr std::pair<std::string_view, std::string_view> kPages[] = {
        {"/login", "login.html"},
        {"/rules", "rules.html"},
        {"/webproxy", "webproxy.html"},
        {"/status/links", "links.html"},
        {"/status/cluster", "cluster.html"},
        {"/status/relay", "relay.html"},
        {"/system", "system.html"},
        {"/logs", "logs.html"},
    };
    for (const auto& [page, file] : kPages)
        if (page == path) return find_asset(file);
    return nullptr;
}

// 503 naming the cause: "The cluster store is unreachable (etcd at ...: connection refused);
// nothing was changed."
Response store_unavailable(const state::Unavailable& e, bool change) {
    std::string message = e.what();
    message[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(message[0])));
    message += change ? "; nothing was changed." : ".";
    Response response = error_response(http::status::service_unavailable, message);
    response.set(http::field::retry_after, "5");
    return response;
}

Response not_found_page() {
    Response response(http::status::not_found, 11);
    response.set(http::field::content_type, "text/plain; charset=utf-8");
    response.body() = "Not found.\n";
    return response;
}

}  // namespace

Router::Router(AdminState& state, Logger& log, const ServerConfig& config,
               ListenerControl& listener)
    : state_(state),
      log_(log),
      config_(config),
      session_api_(state, log),
      status_api_(config.hooks),
      config_api_(state, log, config, listener),
      accounts_api_(state, log),
      turn_users_api_(state, log, config.hooks),
      certificates_api_(state, log, config, listener) {
    if (state_.rules) rules_api_.emplace(*state_.rules, log_, config_.hooks);
}

Response Router::handle(const Request& request, const RequestContext& context) {
    Response response;
    try {
        response = route(request, context);
    } catch (const state::Unavailable& e) {
        log_.warn("{} {} from {} refused: {}", std::string(request.method_string()),
                  std::string(request.target()), context.client, e.what());
        response = store_unavailable(e, changes_state(request.method()));
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

std::string Router::home() const {
    if (rules_api_) return "/rules";
    if (config_.hooks.links) return "/status/links";
    return "/system";
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
    if (path == "/metrics") return metrics(request, context);
    return page(request, path);
}

Response Router::metrics(const Request& request, const RequestContext& context) {
    if (request.method() != http::verb::get && request.method() != http::verb::head)
        return method_not_allowed("GET, HEAD");
    if (!session_of(request))
        if (auto refusal = session_api_.basic_auth(request, context)) return std::move(*refusal);
    return content_response(kMetricsContentType, render_metrics(config_.hooks));
}

Response Router::node(const Session& session) {
    const Hooks& hooks = config_.hooks;
    return json_response(
        http::status::ok,
        {{"role", hooks.role.empty() ? (rules_api_ ? "core" : "edge") : hooks.role},
         {"user", session.user},
         {"features",
          {{"rules", rules_api_.has_value()},
           {"web_proxy", rules_api_.has_value()},
           {"links", static_cast<bool>(hooks.links)},
           {"cluster", static_cast<bool>(hooks.cluster)},
           {"relay", static_cast<bool>(hooks.relay)},
           {"turn_users", turn_users_api_.available()},
           {"logs", hooks.requests != nullptr},
           {"https_certificate", certificates_api_.has_https()}}}});
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
        return method_not_allowed("GET, POST, DELETE");
    }
    // A copy: deleting one's own account ends `session`.
    const ChangeAuthor author{session->user, context.client};
    // A change that the store cannot take now is refused before any part of it is made (a
    // moved listener, a written certificate file), so that "nothing was changed" holds.
    if (writes) state_.accounts.check_writable();
    if (path == "node") {
        if (request.method() != http::verb::get) return method_not_allowed("GET");
        return node(*session);
    }
    if (path == "config") {
        if (request.method() == http::verb::get) return config_api_.get();
        if (request.method() == http::verb::put) return config_api_.put(request, author);
        return method_not_allowed("GET, PUT");
    }
    if (path == "audit") {
        if (request.method() != http::verb::get) return method_not_allowed("GET");
        return audit_list(state_, query);
    }
    if (auto response = status_api_.handle(request, path, query)) return std::move(*response);
    if (auto response = accounts_api_.handle(request, path, author)) return std::move(*response);
    if (auto response = turn_users_api_.handle(request, path, author)) return std::move(*response);
    if (auto response = certificates_api_.handle(request, path, author))
        return std::move(*response);
    if (rules_api_) {
        if (auto response =
                rules_api_->handle(request, path, query, allowlist::Actor{author.actor()}))
            return std::move(*response);
    } else if (path == "rules" || path.starts_with("rules/") || path == "status/targets") {
        return error_response(http::status::not_found,
                              "This node has no HTTP allow list (it is an edge).");
    }
    return error_response(http::status::not_found, "No such API.");
}

Response Router::page(const Request& request, std::string_view path) {
    if (request.method() != http::verb::get && request.method() != http::verb::head) {
        Response response(http::status::method_not_allowed, 11);
        response.set(http::field::allow, "GET, HEAD");
        return response;
    }
    if (path == "/") return redirect(session_of(request) ? home() : "/login");
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
