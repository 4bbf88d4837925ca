#include "admin/turn_users_api.hpp"

#include "admin/accounts_api.hpp"
#include "admin/status_api.hpp"

namespace edgeway::admin {
namespace {

// TURN passwords are typed into the meeting server's configuration, not remembered: long ones
// are no burden, and the key derived from them is only as strong as they are.
constexpr std::size_t kMinTurnPassword = 12;
constexpr std::size_t kMaxTurnPassword = 512;

}  // namespace

std::optional<Response> TurnUsersApi::handle(const Request& request, std::string_view path,
                                             const ChangeAuthor& author) {
    if (path != "turn/users" && !path.starts_with("turn/users/")) return std::nullopt;
    if (!available())
        return error_response(http::status::not_found, "This node has no TURN relay.");
    const auto method = request.method();
    if (path == "turn/users") {
        if (method == http::verb::get) return list();
        if (method == http::verb::post) return set(request, author);
        return method_not_allowed("GET, POST");
    }
    const std::string name(path.substr(11));
    if (method != http::verb::delete_) return method_not_allowed("DELETE");
    return remove(name, author);
}

Response TurnUsersApi::list() {
    json rows = json::array();
    for (const auto& user : hooks_.turn_users())
        rows.push_back({{"name", user.name},
                        {"realm", user.realm},
                        {"created_at", user.created_at},
                        {"changed_at", user.changed_at}});
    return json_response(http::status::ok, {{"users", std::move(rows)}});
}

Response TurnUsersApi::set(const Request& request, const ChangeAuthor& author) {
    const json body = json::parse(request.body(), nullptr, false);
    if (!body.is_object())
        return error_response(http::status::bad_request, "The body is not a JSON object.");
    if (!body.contains("name") || !body["name"].is_string())
        return error_response(http::status::unprocessable_entity, "name: expected a string",
                              "name");
    const std::string name = body["name"].get<std::string>();
    if (const auto problem = check_account_name(name); !problem.empty())
        return error_response(http::status::unprocessable_entity, problem, "name");
    if (!body.contains("password") || !body["password"].is_string())
        return error_response(http::status::unprocessable_entity, "password: expected a string",
                              "password");
    const std::string password = body["password"].get<std::string>();
    if (password.size() < kMinTurnPassword || password.size() > kMaxTurnPassword)
        return error_response(http::status::unprocessable_entity, "password: 12 to 512 characters",
                              "password");
    bool existed = false;
    for (const auto& user : hooks_.turn_users()) existed = existed || user.name == name;
    hooks_.set_turn_user(name, password);
    record_change(state_, log_, author, existed ? "TURN password changed" : "TURN user added",
                  name);
    return json_response(existed ? http::status::ok : http::status::created, {{"name", name}});
}

Response TurnUsersApi::remove(const std::string& name, const ChangeAuthor& author) {
    if (!hooks_.remove_turn_user(name))
        return error_response(http::status::not_found, "No TURN user \"" + name + "\".");
    record_change(state_, log_, author, "TURN user removed", name);
    return json_response(http::status::ok, {{"removed", name}});
}

}  // namespace edgeway::admin
