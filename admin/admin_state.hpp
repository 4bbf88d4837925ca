// What the admin server's request handlers share. One thread owns it all (see Server).
#pragma once

#include "admin/account_store.hpp"
#include "admin/login_limiter.hpp"
#include "admin/session_table.hpp"

#include "allowlist/allowlist.hpp"

#include <memory>
#include <string>

namespace edgeway::admin {

struct AdminState {
    explicit AdminState(std::unique_ptr<AccountStorage> account_storage)
        : owned_accounts(std::move(account_storage)), accounts(*owned_accounts) {}

    std::unique_ptr<AccountStorage> owned_accounts;
    AccountStorage& accounts;
    SessionTable sessions;
    LoginLimiter login_limiter;
    std::unique_ptr<allowlist::RuleStorage> rules;  // null where there is no allow list (edge)
    // Checked against for unknown users, so that they take as long as wrong passwords and the
    // time of an answer does not tell which user names exist.
    std::string decoy_hash;
};

}  // namespace edgeway::admin
