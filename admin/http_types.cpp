#include "admin/http_types.hpp"

#include <boost/beast/http/field.hpp>

namespace edgeway::admin {

Response json_response(http::status status, const json& body) {
    Response response(status, 11);
    response.set(http::field::content_type, "application/json");
    // Replacement characters instead of an exception for invalid UTF-8 in echoed input.
    response.body() = body.dump(-1, ' ', false, json::error_handler_t::replace);
    return response;
}

Response error_response(http::status status, std::string_view message,
                        std::optional<std::string> field) {
    json body = {{"error", message}};
    if (field) body["field"] = *field;
    return json_response(status, body);
}

Response redirect(std::string_view location) {
    Response response(http::status::see_other, 11);
    response.set(http::field::location, location);
    response.set(http::field::content_type, "text/plain; charset=utf-8");
    response.body() = "See " + std::string(location) + "\n";
    return response;
}

Response content_response(std::string_view content_type, std::string body) {
    Response response(http::status::ok, 11);
    response.set(http::field::content_type, content_type);
    response.body() = std::move(body);
    return response;
}

void add_security_headers(Response& response) {
    response.set("Content-Security-Policy",
                 "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                 "frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    response.set("X-Frame-Options", "DENY");
    response.set("X-Content-Type-Options", "nosniff");
    response.set("Referrer-Policy", "no-referrer");
    response.set(http::field::strict_transport_security, "max-age=31536000");
    response.set("Cross-Origin-Opener-Policy", "same-origin");
    if (response.find(http::field::cache_control) == response.end())
        response.set(http::field::cache_control, "no-store");
}

std::string cookie_value(const Request& request, std::string_view name) {
    for (auto it = request.find(http::field::cookie);
         it != request.end() && it->name() == http::field::cookie; ++it) {
        std::string_view rest = it->value();
        while (!rest.empty()) {
            const auto semicolon = rest.find(';');
            std::string_view pair = rest.substr(0, semicolon);
            rest = semicolon == std::string_view::npos ? std::string_view()
                                                       : rest.substr(semicolon + 1);
            while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
            const auto equals = pair.find('=');
            if (equals != std::string_view::npos && pair.substr(0, equals) == name)
                return std::string(pair.substr(equals + 1));
        }
    }
    return {};
}

}  // namespace edgeway::admin
