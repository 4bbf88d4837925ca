// Who runs a command, for audit logs: "cli:alice" (the effective user).
#pragma once

#include <string>

namespace edgeway::app {

std::string cli_user_name();

}  // namespace edgeway::app
