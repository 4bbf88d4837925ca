#include "app/cli_user.hpp"

#include <fmt/format.h>

#include <pwd.h>
#include <unistd.h>

#include <vector>

namespace edgeway::app {

std::string cli_user_name() {
    const uid_t uid = ::geteuid();
    passwd entry{};
    passwd* found = nullptr;
    std::vector<char> buffer(16384);
    if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found)
        return std::string("cli:") + found->pw_name;
    return fmt::format("cli:uid {}", uid);
}

}  // namespace edgeway::app
