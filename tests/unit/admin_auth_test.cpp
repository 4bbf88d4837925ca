// Unit tests for the admin server's building blocks: password hashes, sessions and their
// expiry, the login limiter, and the small parsers the API relies on.
#include "admin/account_store.hpp"
#include "admin/http_types.hpp"
#include "admin/login_limiter.hpp"
#include "admin/password.hpp"
#include "admin/rules_api.hpp"
#include "admin/secrets.hpp"
#include "admin/session_table.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>

using namespace edgeway::admin;
using namespace std::chrono_literals;

TEST_CASE("admin password: scrypt hash with its parameters, verified in constant time",
          "[unit][admin]") {
    const std::string hash = hash_password("correct horse battery staple");
    CHECK_THAT(hash, Catch::StartsWith("scrypt$ln=15,r=8,p=1$"));
    CHECK(hash.find("correct horse") == std::string::npos);
    CHECK(verify_password("correct horse battery staple", hash));
    CHECK_FALSE(verify_password("correct horse battery stapla", hash));
    CHECK_FALSE(verify_password("", hash));
    // Random salt: the same password hashes differently each time.
    CHECK(hash_password("correct horse battery staple") != hash);

    // Cheaper parameters (stored with the hash) still verify.
    const std::string cheap = hash_password("secret password", {10, 8, 1});
    CHECK_THAT(cheap, Catch::StartsWith("scrypt$ln=10,r=8,p=1$"));
    CHECK(verify_password("secret password", cheap));

    // Anything that is not a well-formed hash never verifies.
    for (const std::string& bad :
         {std::string(), std::string("secret password"), std::string("scrypt$"),
          "bcrypt" + cheap.substr(6), cheap.substr(0, cheap.size() - 2),
          std::string("scrypt$ln=40,r=8,p=1$AAAA$") + std::string(43, 'A'),
          std::string("scrypt$ln=10,r=8,p=1,x=1$AAAA$") + std::string(43, 'A'), cheap + "$extra"}) {
        INFO(bad);
        CHECK_FALSE(verify_password("secret password", bad));
    }
}

TEST_CASE("admin secrets: base64url round trip and constant-time comparison", "[unit][admin]") {
    const std::string bytes = random_bytes(32);
    CHECK(bytes.size() == 32);
    CHECK(random_bytes(32) != bytes);
    const std::string text = to_base64url(bytes);
    CHECK(text.size() == 43);
    CHECK(text.find_first_not_of(
              "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
          std::string::npos);
    std::string back;
    REQUIRE(from_base64url(text, back));
    CHECK(back == bytes);
    CHECK_FALSE(from_base64url("not base64!", back));
    CHECK(equal_secrets("abc", "abc"));
    CHECK_FALSE(equal_secrets("abc", "abd"));
    CHECK_FALSE(equal_secrets("abc", "abcd"));
    CHECK(sha256("abc").size() == 32);
}

TEST_CASE("admin sessions: random tokens kept as hashes, idle and absolute expiry",
          "[unit][admin]") {
    SessionTable table({30min, 12h});
    const auto t0 = SessionTable::Clock::now();
    const std::string token = table.create("alice", t0);
    CHECK(token.size() == 43);  // 256 bits
    Session* session = table.find(token, t0 + 1min);
    REQUIRE(session);
    CHECK(session->user == "alice");
    CHECK(session->csrf_token.size() == 43);
    CHECK(session->csrf_token != token);
    CHECK_FALSE(table.find(token + "x", t0));
    CHECK_FALSE(table.find("", t0));

    // Used every 20 minutes it stays alive, until the absolute limit.
    auto t = t0;
    for (int i = 0; i < 35; ++i) {
        t += 20min;
        REQUIRE(table.find(token, t));
    }
    CHECK_FALSE(table.find(token, t0 + 12h));
    CHECK(table.size() == 0);

    // Idle for 30 minutes, it is gone.
    const std::string idle = table.create("bob", t0);
    CHECK(table.find(idle, t0 + 29min));
    CHECK_FALSE(table.find(idle, t0 + 29min + 30min));

    const std::string gone = table.create("carol", t0);
    table.remove(gone);
    CHECK_FALSE(table.find(gone, t0));
}

TEST_CASE("admin sessions: a full table drops the least recently used session", "[unit][admin]") {
    SessionTable table({30min, 12h}, 2);
    const auto t0 = SessionTable::Clock::now();
    const std::string a = table.create("a", t0);
    const std::string b = table.create("b", t0 + 1s);
    REQUIRE(table.find(a, t0 + 2s));
    const std::string c = table.create("c", t0 + 3s);
    CHECK(table.size() == 2);
    CHECK(table.find(a, t0 + 4s));
    CHECK_FALSE(table.find(b, t0 + 4s));
    CHECK(table.find(c, t0 + 4s));
}

TEST_CASE("admin login limiter: five failures in the window lock the client out", "[unit][admin]") {
    LoginLimiter limiter({5, 5min, 5min, 100});
    const auto t0 = LoginLimiter::Clock::now();
    for (int i = 0; i < 4; ++i) CHECK_FALSE(limiter.failed("192.0.2.1", t0 + i * 1s));
    CHECK(limiter.locked_for("192.0.2.1", t0 + 5s) == 0s);
    CHECK(limiter.failed("192.0.2.1", t0 + 5s));
    CHECK(limiter.locked_for("192.0.2.1", t0 + 5s) == 300s);
    CHECK(limiter.locked_for("192.0.2.1", t0 + 65s) == 240s);
    CHECK(limiter.locked_for("192.0.2.2", t0 + 5s) == 0s);  // per client
    CHECK(limiter.locked_for("192.0.2.1", t0 + 5s + 5min) == 0s);

    // Failures spread over more than the window never lock.
    for (int i = 0; i < 10; ++i) CHECK_FALSE(limiter.failed("192.0.2.3", t0 + i * 2min));
    // A success clears the count.
    for (int i = 0; i < 4; ++i) limiter.failed("192.0.2.4", t0);
    limiter.succeeded("192.0.2.4");
    CHECK_FALSE(limiter.failed("192.0.2.4", t0));
}

TEST_CASE("admin accounts: created once, hashes replaced, schema versioned", "[unit][admin]") {
    edgeway::test::TempDir dir("admin-accounts");
    {
        AccountStore store(dir / "state" / "admin.db");
        CHECK(store.empty());
        CHECK(store.create_first("admin", hash_password("first password", {10, 8, 1})));
        CHECK_FALSE(store.create_first("other", hash_password("x", {10, 8, 1})));
        CHECK_FALSE(store.password_hash("other"));
        store.set_password_hash("alice", hash_password("alice password", {10, 8, 1}));
    }
    AccountStore reopened(dir / "state" / "admin.db");
    CHECK_FALSE(reopened.empty());
    REQUIRE(reopened.password_hash("alice"));
    CHECK(verify_password("alice password", *reopened.password_hash("alice")));
    CHECK(verify_password("first password", *reopened.password_hash("admin")));
    CHECK_THROWS_AS(reopened.set_password_hash("bob", "plain text"), AccountError);
}

TEST_CASE("admin API helpers: the field a rule error names, cookies", "[unit][admin]") {
    CHECK(field_of(R"(field "methods": expected a non-empty list)") == "methods");
    CHECK(field_of(R"(missing field "host")") == "host");
    CHECK(field_of(R"(unknown field "colour")") == "colour");
    CHECK_FALSE(field_of("expected a JSON object"));

    Request request;
    request.insert(http::field::cookie, "theme=dark; edgeway_admin=abc-_123");
    request.insert(http::field::cookie, "other=1");
    CHECK(cookie_value(request, "edgeway_admin") == "abc-_123");
    CHECK(cookie_value(request, "other") == "1");
    CHECK(cookie_value(request, "edgeway") == "");
}
