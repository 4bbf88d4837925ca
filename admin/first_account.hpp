// The first administrator account of a node: created with a random password when the node has
// no account at all, by its first start or by `edgeway init`, whichever comes first.
#pragma once

#include "admin/account_store.hpp"

#include <optional>
#include <string>

namespace edgeway::admin {

// Creates kFirstAccount with a random password (120 bits, 20 base64url characters) when the
// store has no account, and returns the password; only its hash is stored. Nothing otherwise.
std::optional<std::string> create_first_account(AccountStorage& accounts);

}  // namespace edgeway::admin
