// The pushed credential set's wire form, one JSON line. Parsing checks everything the relay
// relies on, so that a damaged or foreign line is refused whole instead of half applied; its
// messages name fields and users but never a key or the secret.
#include "turn/credential_store.hpp"
#include "turn/turn.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <stdexcept>

namespace edgeway::turn {
namespace {

using json = nlohmann::json;

[[noreturn]] void invalid(const std::string& what) {
    throw std::invalid_argument("invalid TURN credential set: " + what);
}

const json& field(const json& object, const char* name, json::value_t type, const char* expected) {
    const auto it = object.find(name);
    if (it == object.end()) invalid(fmt::format("\"{}\" is missing", name));
    // Any number type passes for an unsigned field only when it is not negative.
    const bool ok = it->type() == type || (type == json::value_t::number_unsigned &&
                                           it->is_number_integer() && it->get<std::int64_t>() >= 0);
    if (!ok) invalid(fmt::format("\"{}\": expected {}", name, expected));
    return *it;
}

}  // namespace

std::string credential_set_to_json(const CredentialSet& set) {
    json users = json::array();
    for (const auto& [name, user] : set.users)
        users.push_back({{"name", name}, {"realm", user.realm}, {"key_md5", user.key_md5}});
    return json{{"version", set.version},
                {"cluster", set.cluster},
                {"users", std::move(users)},
                {"rest_api_secret", set.rest_api_secret ? json(*set.rest_api_secret) : json()}}
        .dump();
}

CredentialSet credential_set_from_json(std::string_view line) {
    const json doc = json::parse(line, nullptr, false);
    if (doc.is_discarded()) invalid("not JSON");
    if (!doc.is_object()) invalid("not a JSON object");
    CredentialSet set;
    set.version = field(doc, "version", json::value_t::number_unsigned, "a non-negative integer")
                      .get<std::uint64_t>();
    set.cluster = field(doc, "cluster", json::value_t::boolean, "true or false").get<bool>();
    for (const auto& user : field(doc, "users", json::value_t::array, "an array")) {
        if (!user.is_object()) invalid("\"users\": expected objects");
        const auto name = field(user, "name", json::value_t::string, "a string").get<std::string>();
        if (name.empty()) invalid("a user without a name");
        PushedUser pushed{
            field(user, "realm", json::value_t::string, "a string").get<std::string>(),
            field(user, "key_md5", json::value_t::string, "a string").get<std::string>()};
        if (!parse_stored_key(pushed.key_md5))
            invalid(fmt::format("the key of user '{}' is not 32 lowercase hex digits", name));
        if (!set.users.emplace(name, std::move(pushed)).second)
            invalid(fmt::format("user '{}' appears twice", name));
    }
    const auto secret = doc.find("rest_api_secret");
    if (secret == doc.end()) invalid("\"rest_api_secret\" is missing");
    if (secret->is_string())
        set.rest_api_secret = secret->get<std::string>();
    else if (!secret->is_null())
        invalid("\"rest_api_secret\": expected a string or null");
    return set;
}

std::string describe(const CredentialSet& set) {
    return fmt::format("{} user{}, {}", set.users.size(), set.users.size() == 1 ? "" : "s",
                       set.rest_api_secret ? "REST API secret set" : "no REST API secret");
}

}  // namespace edgeway::turn
