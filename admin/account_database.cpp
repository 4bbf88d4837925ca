// The accounts database as `edgeway backup` and `edgeway restore` see it: checked as a whole,
// summarised for the operator, and told of a restore in its audit log.
#include "admin/admin.hpp"

#include "admin/account_store.hpp"

#include <fmt/format.h>

namespace edgeway::admin {

std::string describe_account_database(const std::filesystem::path& file) {
    AccountStore store(file);
    const auto accounts = store.list();
    store.setting("admin_listen");  // the tables a database of ours has, read once each
    store.audit_log(1);
    std::vector<std::string> names;
    for (const auto& account : accounts) names.push_back(account.name);
    return fmt::format("{} account{}{}{}", accounts.size(), accounts.size() == 1 ? "" : "s",
                       names.empty() ? "" : ": ", fmt::join(names, ", "));
}

void audit_restore(const std::filesystem::path& file, const std::string& who,
                   const std::string& detail) {
    AccountStore store(file);
    store.audit({0, "", who, "local", "state restored", detail});
}

}  // namespace edgeway::admin
