// A client for the admin server's API as a browser uses it: it keeps the session cookie and the
// CSRF token from the login and sends them (and Origin) with each request, unless told not to.
#pragma once

#include "tests/support/http_client.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace edgeway::test {

struct AdminRequestOptions {
    bool cookie = true;           // send the session cookie (when logged in)
    bool csrf = true;             // send X-CSRF-Token on state-changing requests
    std::string origin = "self";  // "self": https://<host>; "": no Origin header; else as given
    Headers headers;              // extra headers

    // Chainable, for options built in place: AdminRequestOptions().no_csrf().origin_header(...)
    AdminRequestOptions& no_cookie() { return cookie = false, *this; }
    AdminRequestOptions& no_csrf() { return csrf = false, *this; }
    AdminRequestOptions& origin_header(std::string value) {
        return origin = std::move(value), *this;
    }
    AdminRequestOptions& header(std::string name, std::string value) {
        headers.emplace_back(std::move(name), std::move(value));
        return *this;
    }
};

class AdminClient {
  public:
    explicit AdminClient(TlsTarget target) : target_(std::move(target)) {}

    Response request(http::verb method, std::string path, std::string body = {},
                     const AdminRequestOptions& options = {});
    Response get(std::string path, const AdminRequestOptions& options = {}) {
        return request(http::verb::get, std::move(path), {}, options);
    }
    Response post_json(std::string path, const nlohmann::json& body,
                       const AdminRequestOptions& options = {});
    // POST /api/v1/session; on 200 keeps the cookie and the CSRF token.
    Response login(const std::string& user, const std::string& password);

    const TlsTarget& target() const { return target_; }
    const std::string& session_cookie() const { return cookie_; }
    const std::string& csrf_token() const { return csrf_; }

  private:
    TlsTarget target_;
    std::string cookie_;  // "edgeway_admin=..."
    std::string csrf_;
};

// The attributes of a Set-Cookie value, lowercased, without the name=value pair.
std::vector<std::string> cookie_attributes(const std::string& set_cookie);

}  // namespace edgeway::test
