#include "admin/accounts_api.hpp"

#include "admin/admin.hpp"
#include "admin/password.hpp"
#include "admin/status_api.hpp"

namespace edgeway::admin {
namespace {

constexpr std::size_t kMaxNameLength = 64;
constexpr std::size_t kMaxPasswordLength = 1024;

std::string check_password(const json& body) {
    if (!body.contains("password") || !body["password"].is_string())
        return "password: expected a string";
    const auto& password = body["password"].get_ref<const std::string&>();
    if (password.size() < kMinPasswordLength)
        return "password: too short, it needs at least " + std::to_string(kMinPasswordLength) +
               " characters";
    if (password.size() > kMaxPasswordLength) return "password: at most 1024 characters";
    return {};
}

}  // namespace

std::string check_account_name(std::string_view name) {
    if (name.empty() || name.size() > kMaxNameLength) return "name: 1 to 64 characters";
    for (const char c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
            return "name: only letters, digits, '.', '_' and '-'";
    return {};
}

std::optional<Response> AccountsApi::handle(const Request& request, std::string_view path,
                                            const ChangeAuthor& author) {
    const auto method = request.method();
    if (path == "accounts") {
        if (method == http::verb::get) return list();
        if (method == http::verb::post) return add(request, author);
        return method_not_allowed("GET, POST");
    }
    if (!path.starts_with("accounts/")) return std::nullopt;
    const std::string name(path.substr(9));
    if (!check_account_name(name).empty())
        return error_response(http::status::not_found, "No such account.");
    if (method == http::verb::put) return change_password(name, request, author);
    if (method == http::verb::delete_) return remove(name, author);
    return method_not_allowed("PUT, DELETE");
}

Response AccountsApi::list() {
    json rows = json::array();
    for (const auto& account : state_.accounts.list())
        rows.push_back({{"name", account.name},
                        {"created_at", account.created_at},
                        {"password_changed_at", account.password_changed_at}});
    return json_response(http::status::ok, {{"accounts", std::move(rows)}});
}

Response AccountsApi::add(const Request& request, const ChangeAuthor& author) {
    const json body = json::parse(request.body(), nullptr, false);
    if (!body.is_object())
        return error_response(http::status::bad_request, "The body is not a JSON object.");
    if (!body.contains("name") || !body["name"].is_string())
        return error_response(http::status::unprocessable_entity, "name: expected a string",
                              "name");
    const std::string name = body["name"].get<std::string>();
    if (const auto problem = check_account_name(name); !problem.empty())
        return error_response(http::status::unprocessable_entity, problem, "name");
    if (const auto problem = check_password(body); !problem.empty())
        return error_response(http::status::unprocessable_entity, problem, "password");
    if (state_.accounts.password_hash(name))
        return error_response(http::status::conflict, "An account \"" + name + "\" exists.");
    state_.accounts.set_password_hash(name, hash_password(body["password"].get<std::string>()));
    record_change(state_, log_, author, "account added", name);
    Response response = json_response(http::status::created, {{"name", name}});
    response.set(http::field::location, "/api/v1/accounts/" + name);
    return response;
}

Response AccountsApi::change_password(const std::string& name, const Request& request,
                                      const ChangeAuthor& author) {
    const json body = json::parse(request.body(), nullptr, false);
    if (!body.is_object())
        return error_response(http::status::bad_request, "The body is not a JSON object.");
    if (const auto problem = check_password(body); !problem.empty())
        return error_response(http::status::unprocessable_entity, problem, "password");
    if (!state_.accounts.password_hash(name))
        return error_response(http::status::not_found, "No account \"" + name + "\".");
    state_.accounts.set_password_hash(name, hash_password(body["password"].get<std::string>()));
    record_change(state_, log_, author, "password changed", name);
    return json_response(http::status::ok, {{"name", name}});
}

Response AccountsApi::remove(const std::string& name, const ChangeAuthor& author) {
    switch (state_.accounts.remove(name)) {
        case AccountStore::RemoveResult::no_such_account:
            return error_response(http::status::not_found, "No account \"" + name + "\".");
        case AccountStore::RemoveResult::last_account:
            return error_response(
                http::status::conflict,
                "\"" + name + "\" is the last account; add another before deleting it.");
        case AccountStore::RemoveResult::removed:
            break;
    }
    const std::size_t ended = state_.sessions.remove_user(name);
    record_change(state_, log_, author, "account deleted",
                  name + " (" + std::to_string(ended) + " session(s) ended)");
    return json_response(http::status::ok, {{"removed", name}});
}

}  // namespace edgeway::admin
