#include "admin/config_api.hpp"

#include "admin/query.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace edgeway::admin {
namespace {

namespace al = edgeway::allowlist;

Response invalid(std::string message, std::string field) {
    return error_response(http::status::unprocessable_entity, message, std::move(field));
}

}  // namespace

std::string check_listen_address(const std::string& address) {
    const auto colon = address.rfind(':');
    if (colon == std::string::npos || colon == 0)
        return "expected HOST:PORT, e.g. 0.0.0.0:445 or [::]:445";
    const std::string host = address.substr(0, colon);
    if (host.front() == '[' && (host.back() != ']' || host.size() < 3))
        return "an IPv6 address goes in brackets: [::1]:445";
    if (host.front() != '[' && host.find(':') != std::string::npos)
        return "an IPv6 address goes in brackets: [::1]:445";
    if (host.find_first_of(" \t/") != std::string::npos) return "the host has a space or a slash";
    if (!parse_integer(address.substr(colon + 1), 0, 65535))
        return "the port must be a number from 0 to 65535";
    return {};
}

json ConfigApi::web_proxy_json() {
    if (const auto stored = state_.rules->web_proxy())
        return {
            {"enabled", stored->enabled}, {"join_urls", stored->join_urls}, {"source", "admin"}};
    return {{"enabled", true}, {"join_urls", config_.join_urls}, {"source", "configuration file"}};
}

json ConfigApi::admin_json() {
    const auto stored = state_.accounts.setting(kListenSetting);
    return {{"listen", stored.value_or(config_.listen)},
            {"bound", listener_.bound_address()},
            {"source", stored ? "admin" : "configuration file"}};
}

Response ConfigApi::get() {
    json body = {{"admin", admin_json()}};
    if (state_.rules) body["web_proxy"] = web_proxy_json();
    return json_response(http::status::ok, body);
}

Response ConfigApi::put(const Request& request, const ChangeAuthor& author) {
    const json body = json::parse(request.body(), nullptr, false);
    if (body.is_discarded() || !body.is_object())
        return error_response(http::status::bad_request, "The body is not a JSON object.");
    for (const auto& [key, value] : body.items())
        if (key != "web_proxy" && key != "admin")
            return invalid("Unknown setting \"" + key + "\" (known: web_proxy, admin).", key);

    // 1. Validate everything; nothing has changed yet.
    std::optional<al::WebProxySettings> web_proxy;
    if (body.contains("web_proxy")) {
        if (!state_.rules)
            return invalid("This node has no Meeting Server web proxy (it is an edge).",
                           "web_proxy");
        const json& doc = body["web_proxy"];
        if (!doc.is_object()) return invalid("web_proxy: expected an object", "web_proxy");
        al::WebProxySettings settings;
        if (const auto current = state_.rules->web_proxy())
            settings = *current;
        else
            settings.join_urls = config_.join_urls;
        for (const auto& [key, value] : doc.items()) {
            if (key == "enabled") {
                if (!value.is_boolean())
                    return invalid("web_proxy.enabled: expected true or false",
                                   "web_proxy.enabled");
                settings.enabled = value.get<bool>();
            } else if (key == "join_urls") {
                if (!value.is_array())
                    return invalid("web_proxy.join_urls: expected a list of URIs",
                                   "web_proxy.join_urls");
                settings.join_urls.clear();
                for (std::size_t i = 0; i < value.size(); ++i) {
                    const std::string field = fmt::format("web_proxy.join_urls[{}]", i);
                    if (!value[i].is_string())
                        return invalid(field + ": expected a URI string", field);
                    try {
                        al::parse_join_uri(value[i].get<std::string>());
                    } catch (const al::RuleError& e) {
                        return invalid(field + ": " + e.what(), field);
                    }
                    settings.join_urls.push_back(value[i].get<std::string>());
                }
            } else if (key != "source") {  // what GET shows may be sent back as it is
                return invalid(
                    "Unknown setting \"web_proxy." + key + "\" (known: enabled, join_urls).",
                    "web_proxy." + key);
            }
        }
        web_proxy = settings;
    }
    std::optional<std::string> listen;
    if (body.contains("admin")) {
        const json& doc = body["admin"];
        if (!doc.is_object()) return invalid("admin: expected an object", "admin");
        for (const auto& [key, value] : doc.items()) {
            if (key == "listen") {
                if (!value.is_string())
                    return invalid("admin.listen: expected HOST:PORT", "admin.listen");
                const std::string address = value.get<std::string>();
                if (const auto problem = check_listen_address(address); !problem.empty())
                    return invalid("admin.listen: " + problem, "admin.listen");
                listen = address;
            } else if (key != "bound" && key != "source") {
                return invalid("Unknown setting \"admin." + key + "\" (known: listen).",
                               "admin." + key);
            }
        }
    }

    // 2. The one step the OS can refuse: bind the new address before anything is stored.
    const auto current_listen = state_.accounts.setting(kListenSetting).value_or(config_.listen);
    std::string bound;
    if (listen && *listen != current_listen) {
        const auto rebound = listener_.rebind(*listen);
        if (!rebound.error.empty())
            return invalid("admin.listen: cannot listen on " + *listen + ": " + rebound.error,
                           "admin.listen");
        bound = rebound.address;
    }

    // 3. Store.
    if (web_proxy) {
        const auto before = state_.rules->web_proxy();
        if (!before || *before != *web_proxy) {
            state_.rules->set_web_proxy(*web_proxy, al::Actor{author.actor()});
            log_.info("{}: web proxy {}, guest account client URIs: {}", author.actor(),
                      web_proxy->enabled ? "enabled" : "disabled",
                      fmt::join(web_proxy->join_urls, ", "));
        }
    }
    if (!bound.empty()) {
        state_.accounts.set_setting(kListenSetting, *listen);
        record_change(state_, log_, author, "admin listener moved",
                      fmt::format("{} (was {}); listening on {}", *listen, current_listen, bound));
    }
    return get();
}

}  // namespace edgeway::admin
