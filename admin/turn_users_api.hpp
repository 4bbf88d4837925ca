// /api/v1/turn/users: TURN relay users, through the hooks: an edge relay's own credential
// database, or a core's credentials (its turn.db or etcd), which it pushes to its edges. List,
// add or change a password, delete; every change is audited and counts within a second.
#pragma once

#include "admin/admin.hpp"
#include "admin/admin_state.hpp"
#include "admin/audit_api.hpp"
#include "admin/http_types.hpp"

#include "common/log.hpp"

#include <optional>
#include <string_view>

namespace edgeway::admin {

class TurnUsersApi {
  public:
    TurnUsersApi(AdminState& state, Logger& log, const Hooks& hooks)
        : state_(state), log_(log), hooks_(hooks) {}

    bool available() const { return static_cast<bool>(hooks_.turn_users); }

    // path is what follows /api/v1/; nothing when it is not "turn/users[/NAME]".
    std::optional<Response> handle(const Request& request, std::string_view path,
                                   const ChangeAuthor& author);

  private:
    Response list();
    Response set(const Request& request, const ChangeAuthor& author);
    Response remove(const std::string& name, const ChangeAuthor& author);

    AdminState& state_;
    Logger& log_;
    const Hooks& hooks_;
};

}  // namespace edgeway::admin
