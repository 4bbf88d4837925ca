// The TURN credential feed's lines as the edge reads them: the set's JSON form, refusal of
// malformed sets (whole, the set held staying), and the version rules (a cluster's older set
// never rolls an edge back; one core's own numbers are taken whatever they are).
#include "proxy/turn_feed.hpp"

#include <catch2/catch.hpp>

using namespace edgeway;
using turn::CredentialSet;

namespace {

const std::string kKey(32, 'a');  // 32 lowercase hex digits

CredentialSet sample(std::uint64_t version, bool cluster) {
    CredentialSet set;
    set.version = version;
    set.cluster = cluster;
    set.users["alice"] = {"edgeway.test", kKey};
    set.rest_api_secret = "the REST secret";
    return set;
}

std::string error_of(std::string_view line) {
    try {
        turn::credential_set_from_json(line);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("turn feed: a credential set survives its JSON line", "[unit][turn]") {
    const CredentialSet set = sample(7, true);
    const std::string line = turn::credential_set_to_json(set);
    CHECK(line.find('\n') == std::string::npos);
    const CredentialSet back = turn::credential_set_from_json(line);
    CHECK(back.version == 7);
    CHECK(back.cluster);
    CHECK(back.same_credentials(set));
    CHECK(turn::describe(back) == "1 user, REST API secret set");

    CredentialSet empty;
    const CredentialSet none = turn::credential_set_from_json(turn::credential_set_to_json(empty));
    CHECK(none.users.empty());
    CHECK_FALSE(none.rest_api_secret);
    CHECK(turn::describe(none) == "0 users, no REST API secret");
}

TEST_CASE("turn feed: malformed sets are refused, saying why without quoting a key",
          "[unit][turn]") {
    CHECK_THAT(error_of("{oops"), Catch::Contains("not JSON"));
    CHECK_THAT(error_of("[]"), Catch::Contains("not a JSON object"));
    CHECK_THAT(error_of(R"({"cluster":false,"users":[],"rest_api_secret":null})"),
               Catch::Contains("\"version\" is missing"));
    CHECK_THAT(error_of(R"({"version":-1,"cluster":false,"users":[],"rest_api_secret":null})"),
               Catch::Contains("\"version\": expected a non-negative integer"));
    CHECK_THAT(error_of(R"({"version":1,"cluster":"yes","users":[],"rest_api_secret":null})"),
               Catch::Contains("\"cluster\""));
    CHECK_THAT(error_of(R"({"version":1,"cluster":false,"users":{},"rest_api_secret":null})"),
               Catch::Contains("\"users\": expected an array"));
    CHECK_THAT(error_of(R"({"version":1,"cluster":false,"users":[],"rest_api_secret":5})"),
               Catch::Contains("\"rest_api_secret\""));
    CHECK_THAT(error_of(R"({"version":1,"cluster":false,"users":[]})"),
               Catch::Contains("\"rest_api_secret\" is missing"));
    const std::string bad_key =
        R"({"version":1,"cluster":false,"users":[{"name":"bob","realm":"r","key_md5":"ABCDEF0123456789ABCDEF0123456789"}],"rest_api_secret":null})";
    const std::string refusal = error_of(bad_key);
    CHECK_THAT(refusal, Catch::Contains("user 'bob'") && Catch::Contains("32 lowercase hex"));
    CHECK_THAT(refusal, !Catch::Contains("ABCDEF"));
    const std::string user = R"({"name":"bob","realm":"r","key_md5":")" + kKey + R"("})";
    CHECK_THAT(error_of(R"({"version":1,"cluster":false,"users":[)" + user + "," + user +
                        R"(],"rest_api_secret":null})"),
               Catch::Contains("user 'bob' appears twice"));
    CHECK_THAT(
        error_of(R"({"version":1,"cluster":false,"users":[{"name":"","realm":"r","key_md5":")" +
                 kKey + R"("}],"rest_api_secret":null})"),
        Catch::Contains("without a name"));
}

TEST_CASE("turn feed: the edge keeps its set on a bad line and never goes back in a cluster",
          "[unit][turn]") {
    Logger log("test", LogLevel::error);
    turn::PushedCredentials held;
    auto apply = [&](const CredentialSet& set) {
        return proxy::apply_turn_credentials(turn::credential_set_to_json(set), held, log, "core");
    };

    REQUIRE(apply(sample(10, true)));
    REQUIRE(held.load());
    CHECK(held.load()->version == 10);

    CHECK_FALSE(proxy::apply_turn_credentials(R"({"version":11})", held, log, "core"));
    CHECK(held.load()->version == 10);

    CredentialSet older = sample(9, true);
    older.users.clear();  // a lagging core that has not seen alice yet
    CHECK(apply(older));
    CHECK(held.load()->version == 10);
    CHECK(held.load()->users.contains("alice"));

    CredentialSet newer = older;
    newer.version = 12;
    CHECK(apply(newer));
    CHECK(held.load()->version == 12);
    CHECK(held.load()->users.empty());

    // One core's own numbers (SQLite): its database may have been replaced, so a lower number
    // is another set and is taken.
    CHECK(apply(sample(3, false)));
    CHECK(held.load()->version == 3);
    CHECK(apply(sample(1, false)));
    CHECK(held.load()->version == 1);
}

TEST_CASE("control feeds: the same number is the same set, and older only counts in a cluster",
          "[unit][turn]") {
    using proxy::decide;
    using proxy::SetDecision;
    using proxy::SetVersion;
    CHECK(decide(nullptr, {5, true}) == SetDecision::apply);
    const SetVersion cluster{5, true}, single{5, false};
    CHECK(decide(&cluster, {5, true}) == SetDecision::same);
    CHECK(decide(&cluster, {4, true}) == SetDecision::older);
    CHECK(decide(&cluster, {6, true}) == SetDecision::apply);
    CHECK(decide(&single, {4, false}) == SetDecision::apply);
    CHECK(decide(&cluster, {4, false}) == SetDecision::apply);
}
