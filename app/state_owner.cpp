#include "app/state_owner.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <stdexcept>

namespace edgeway::app {

namespace fs = std::filesystem;

fs::path state_directory_of_args(
    const std::vector<std::string>& args, const fs::path& fallback,
    const std::function<fs::path(const fs::path&)>& state_directory_of) {
    std::optional<fs::path> state, config;
    for (std::size_t i = 0; i + 1 < args.size(); ++i) {
        if (args[i] == "--state-dir") state = args[i + 1];
        if (args[i] == "--config") config = args[i + 1];
    }
    if (state) return *state;
    if (config) {
        try {
            return state_directory_of(*config);
        } catch (const std::exception&) {
            return {};
        }
    }
    return fallback;
}

void become_owner_of(const fs::path& dir) {
    if (::geteuid() != 0 || dir.empty()) return;
    fs::path existing = fs::absolute(dir);
    struct stat st {};
    while (::stat(existing.c_str(), &st) != 0) {
        if (!existing.has_parent_path() || existing.parent_path() == existing) return;
        existing = existing.parent_path();
    }
    if (st.st_uid == 0) return;
    const passwd* user = ::getpwuid(st.st_uid);
    const bool groups_set =
        user ? ::initgroups(user->pw_name, st.st_gid) == 0 : ::setgroups(0, nullptr) == 0;
    if (!groups_set || ::setgid(st.st_gid) != 0 || ::setuid(st.st_uid) != 0)
        throw std::runtime_error("cannot run as the owner of " + existing.string() + " (uid " +
                                 std::to_string(st.st_uid) + "): " + std::strerror(errno));
}

}  // namespace edgeway::app
