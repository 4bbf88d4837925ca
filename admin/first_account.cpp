#include "admin/first_account.hpp"

#include "admin/admin.hpp"
#include "admin/password.hpp"
#include "admin/secrets.hpp"

namespace edgeway::admin {
namespace {

constexpr std::size_t kFirstPasswordBytes = 15;  // 20 base64url characters, 120 bits

}  // namespace

std::optional<std::string> create_first_account(AccountStorage& accounts) {
    if (!accounts.empty()) return std::nullopt;
    std::string password = to_base64url(random_bytes(kFirstPasswordBytes));
    if (!accounts.create_first(kFirstAccount, hash_password(password))) return std::nullopt;
    return password;
}

std::optional<std::string> create_first_account(const std::filesystem::path& state_directory,
                                                const state::Config& state) {
    const auto accounts = open_account_storage(state, state_directory / kAccountDatabaseFile);
    return create_first_account(*accounts);
}

}  // namespace edgeway::admin
