#include "tests/support/admin_client.hpp"

#include <algorithm>
#include <cctype>

namespace edgeway::test {

Response AdminClient::request(http::verb method, std::string path, std::string body,
                              const AdminRequestOptions& options) {
    Headers headers = options.headers;
    if (options.cookie && !cookie_.empty()) headers.emplace_back("Cookie", cookie_);
    const bool changes = method == http::verb::post || method == http::verb::put ||
                         method == http::verb::patch || method == http::verb::delete_;
    if (changes && options.csrf && !csrf_.empty()) headers.emplace_back("X-CSRF-Token", csrf_);
    if (options.origin == "self")
        headers.emplace_back("Origin", "https://" + target_.host());
    else if (!options.origin.empty())
        headers.emplace_back("Origin", options.origin);
    if (!body.empty() && std::none_of(headers.begin(), headers.end(),
                                      [](const auto& h) { return h.first == "Content-Type"; }))
        headers.emplace_back("Content-Type", "application/json");
    return https_request(target_,
                         make_request(target_, method, std::move(path), std::move(body), headers));
}

Response AdminClient::post_json(std::string path, const nlohmann::json& body,
                                const AdminRequestOptions& options) {
    return request(http::verb::post, std::move(path), body.dump(), options);
}

Response AdminClient::login(const std::string& user, const std::string& password) {
    Response response = post_json("/api/v1/session", {{"user", user}, {"password", password}},
                                  AdminRequestOptions().no_cookie());
    if (response.status == 200) {
        const std::string set_cookie = response.header("Set-Cookie");
        cookie_ = set_cookie.substr(0, set_cookie.find(';'));
        csrf_ = nlohmann::json::parse(response.body).at("csrf_token").get<std::string>();
    }
    return response;
}

std::vector<std::string> cookie_attributes(const std::string& set_cookie) {
    std::vector<std::string> out;
    std::size_t start = set_cookie.find(';');
    while (start != std::string::npos) {
        const std::size_t end = set_cookie.find(';', start + 1);
        std::string part = set_cookie.substr(
            start + 1, end == std::string::npos ? std::string::npos : end - start - 1);
        part.erase(0, part.find_first_not_of(' '));
        std::transform(part.begin(), part.end(), part.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        out.push_back(part);
        start = end;
    }
    return out;
}

}  // namespace edgeway::test
