#include "turn/pushed_source.hpp"

#include <fmt/format.h>

namespace edgeway::turn {

std::optional<StoredKey> PushedSource::find(const std::string& name) {
    const auto set = pushed_->load();
    if (!set) {
        if (!std::exchange(told_none_yet_, true))
            log_.warn(
                "no TURN credentials pushed by a core yet: user '{}' is refused (401), as is "
                "every user until a core's link brings the first set",
                name);
        return std::nullopt;
    }
    const auto user = set->users.find(name);
    if (user == set->users.end()) return std::nullopt;
    const auto key = parse_stored_key(user->second.key_md5);  // checked when received
    if (!key) return std::nullopt;
    return StoredKey{user->second.realm, *key};
}

std::optional<std::string> PushedSource::shared_secret() {
    const auto set = pushed_->load();
    return set ? set->rest_api_secret : std::nullopt;
}

std::string PushedSource::unknown_user_context() const {
    const auto set = pushed_->load();
    return set ? fmt::format("{} (version {})", where(), set->version)
               : where() + " (none received yet)";
}

}  // namespace edgeway::turn
