// The HTTP vocabulary of the admin server: whole requests and responses with string bodies
// (the API's documents and the UI's assets are small), and the answers every handler builds.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace edgeway::admin {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;
using json = nlohmann::json;

constexpr const char* kSessionCookie = "edgeway_admin";
constexpr const char* kCsrfHeader = "X-CSRF-Token";

// What a handler knows about the request beyond its message.
struct RequestContext {
    std::string client;  // the peer's IP address
};

Response json_response(http::status status, const json& body);
// {"error": message} plus {"field": field} when the error is about one input field.
Response error_response(http::status status, std::string_view message,
                        std::optional<std::string> field = std::nullopt);
Response redirect(std::string_view location);
Response content_response(std::string_view content_type, std::string body);

// The headers every answer carries (CSP without inline script, no framing, no sniffing, no
// referrer, HSTS); API answers and pages also get Cache-Control: no-store.
void add_security_headers(Response& response);

// The value of one cookie of the request's Cookie headers ("" when absent).
std::string cookie_value(const Request& request, std::string_view name);

}  // namespace edgeway::admin
