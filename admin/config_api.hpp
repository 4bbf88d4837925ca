// /api/v1/config: the node's settings an operator changes at run time. web_proxy (core only)
// lives in the rule database, which the core watches; admin.listen lives in admin.db and is
// applied at once by rebinding the listener. A PUT is validated whole before anything changes.
#pragma once

#include "admin/admin.hpp"
#include "admin/admin_state.hpp"
#include "admin/audit_api.hpp"
#include "admin/http_types.hpp"
#include "admin/listener_control.hpp"

#include "common/log.hpp"

namespace edgeway::admin {

// admin.db's setting name for the admin listener's address.
constexpr const char* kListenSetting = "admin.listen";

class ConfigApi {
  public:
    ConfigApi(AdminState& state, Logger& log, const ServerConfig& config, ListenerControl& listener)
        : state_(state), log_(log), config_(config), listener_(listener) {}

    Response get();
    Response put(const Request& request, const ChangeAuthor& author);

  private:
    json web_proxy_json();
    json admin_json();

    AdminState& state_;
    Logger& log_;
    const ServerConfig& config_;
    ListenerControl& listener_;
};

// Checks an admin listener address: HOST:PORT or [IPv6]:PORT, port 0-65535. The message says
// what is wrong; empty when it is fine.
std::string check_listen_address(const std::string& address);

}  // namespace edgeway::admin
