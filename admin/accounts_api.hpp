// /api/v1/accounts: the local admin accounts. List, add, change a password, delete (never the
// last account; deleting one ends its sessions at once). Passwords are hashed with scrypt as
// for `edgeway admin passwd`; every change is audited.
#pragma once

#include "admin/admin_state.hpp"
#include "admin/audit_api.hpp"
#include "admin/http_types.hpp"

#include "common/log.hpp"

#include <optional>
#include <string_view>

namespace edgeway::admin {

class AccountsApi {
  public:
    AccountsApi(AdminState& state, Logger& log) : state_(state), log_(log) {}

    // path is what follows /api/v1/; nothing when it is not "accounts" or "accounts/NAME".
    std::optional<Response> handle(const Request& request, std::string_view path,
                                   const ChangeAuthor& author);

  private:
    Response list();
    Response add(const Request& request, const ChangeAuthor& author);
    Response change_password(const std::string& name, const Request& request,
                             const ChangeAuthor& author);
    Response remove(const std::string& name, const ChangeAuthor& author);

    AdminState& state_;
    Logger& log_;
};

// What is wrong with an account name (1-64 of A-Z a-z 0-9 . _ -), or "" when it is fine.
std::string check_account_name(std::string_view name);

}  // namespace edgeway::admin
