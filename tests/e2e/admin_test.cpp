// The administration server on the core, over real HTTPS on loopback: accounts and login,
// sessions, CSRF and same-origin checks, lockout, security headers, limits, and the allow-list
// API changing what the edge lets through on 443.
#include "tests/e2e/e2e.hpp"
#include "tests/support/admin_client.hpp"

using namespace edgeway::test;

namespace {

constexpr const char* kAdminListening = R"(admin listening on 127\.0\.0\.1:(\d+))";
constexpr const char* kFirstPassword =
    R"(first start: admin account "admin" created with password: (\S+))";

// An appliance whose core runs the admin server on a kernel-picked port, with the lab
// certificate for localhost (paths relative to the core's config file in the test's dir).
struct AdminAppliance {
    std::unique_ptr<Appliance> app;
    std::uint16_t admin_port = 0;
    std::string first_password;

    explicit AdminAppliance(json core_patch = json::object()) {
        ApplianceOptions options;
        options.core_patch = {{"admin",
                               {{"listen", "127.0.0.1:0"},
                                {"certificate", "pki/edge.pem"},
                                {"private_key", "pki/edge.key"}}}};
        options.core_patch.merge_patch(core_patch);
        app = std::make_unique<Appliance>(options);
        admin_port = port_of(app->core().require_log(kAdminListening, 15s));
        first_password = app->core().require_log(kFirstPassword, 15s)[1];
    }

    TlsTarget admin_target() const {
        TlsTarget target;
        target.port = admin_port;
        target.ca_file = app->ca_file();
        return target;
    }
    AdminClient client() const { return AdminClient(admin_target()); }
    AdminClient logged_in() const {
        AdminClient client(admin_target());
        const Response response = client.login("admin", first_password);
        INFO(response.body);
        REQUIRE(response.status == 200);
        return client;
    }
    std::filesystem::path state() const { return app->dir() / "core-state"; }
};

json body_of(const Response& response) {
    INFO("status " << response.status << " body " << response.body);
    return json::parse(response.body);
}

// A rule for the edge's own port, as the web UI's form sends it.
json health_rule(const Appliance& app) {
    return {{"description", "health checks via admin"},
            {"protocol", "https"},
            {"host", "localhost"},
            {"port", app.https_port()},
            {"match", "exact"},
            {"path", "/health"},
            {"methods", {"GET"}}};
}

void check_security_headers(const Response& response) {
    INFO("status " << response.status);
    CHECK_THAT(response.header("Content-Security-Policy"),
               Contains("default-src 'self'") && Contains("script-src 'self'") &&
                   Contains("frame-ancestors 'none'") && !Contains("unsafe-inline"));
    CHECK(response.header("X-Frame-Options") == "DENY");
    CHECK(response.header("X-Content-Type-Options") == "nosniff");
    CHECK(response.header("Referrer-Policy") == "no-referrer");
    CHECK_THAT(response.header("Strict-Transport-Security"), StartsWith("max-age="));
}

// `edgeway admin passwd ARGS...` with `password` on its standard input (a pipe, not a tty).
RunResult passwd(const std::filesystem::path& dir, const std::string& password,
                 const std::vector<std::string>& args) {
    std::string command = "printf '%s\\n' \"$1\" | \"$2\" admin passwd";
    for (std::size_t i = 0; i < args.size(); ++i) command += " \"$" + std::to_string(i + 3) + "\"";
    std::vector<std::string> argv = {"-c", command, "sh", password, edgeway_binary().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_program("/bin/sh", argv, dir / "passwd.log");
}

}  // namespace

TEST_CASE(
    "admin: the first start creates account admin, login works, and a wrong password or "
    "an unknown user get the same 401",
    "[e2e][admin]") {
    AdminAppliance appliance;
    AdminClient client = appliance.client();

    const Response wrong = client.login("admin", "not the password at all");
    const Response unknown = client.login("nobody", "not the password at all");
    CHECK(wrong.status == 401);
    CHECK(unknown.status == 401);
    CHECK(wrong.body == unknown.body);
    CHECK(wrong.header("Set-Cookie").empty());
    auto& log = appliance.app->core().log();
    CHECK(log.wait_for(R"(failed login for user "admin" from 127\.0\.0\.1$)", 5s));
    CHECK(log.wait_for(R"(failed login for user "nobody" from 127\.0\.0\.1 \(no such user\))", 5s));

    const Response ok = client.login("admin", appliance.first_password);
    REQUIRE(ok.status == 200);
    CHECK(body_of(ok)["user"] == "admin");
    CHECK(body_of(ok)["csrf_token"].get<std::string>().size() >= 40);
    CHECK_THAT(ok.header("Cache-Control"), Contains("no-store"));
    check_security_headers(ok);

    // The cookie: a 256-bit token, sent only over TLS, invisible to scripts, never cross-site.
    const std::string set_cookie = ok.header("Set-Cookie");
    CHECK_THAT(set_cookie, StartsWith("edgeway_admin="));
    CHECK(client.session_cookie().size() >= std::string("edgeway_admin=").size() + 43);
    const auto attributes = cookie_attributes(set_cookie);
    auto has = [&](const std::string& a) {
        return std::find(attributes.begin(), attributes.end(), a) != attributes.end();
    };
    CHECK(has("secure"));
    CHECK(has("httponly"));
    CHECK(has("samesite=strict"));
    CHECK(has("path=/"));

    const Response me = client.get("/api/v1/session");
    REQUIRE(me.status == 200);
    CHECK(body_of(me)["user"] == "admin");
    CHECK(body_of(me)["csrf_token"] == client.csrf_token());
    CHECK(log.find(R"(login: user "admin" from 127\.0\.0\.1)"));

    // Logging out ends the session on the server, not only in the browser.
    const std::string old_cookie = client.session_cookie();
    const Response bye = client.request(http::verb::delete_, "/api/v1/session");
    CHECK(bye.status == 204);
    CHECK_THAT(bye.header("Set-Cookie"), Contains("Max-Age=0"));
    const Response after = client.get(
        "/api/v1/session", AdminRequestOptions().no_cookie().header("Cookie", old_cookie));
    CHECK(after.status == 401);
}

TEST_CASE("admin: repeated failed logins lock the client out with 429 and Retry-After",
          "[e2e][admin]") {
    AdminAppliance appliance;
    AdminClient client = appliance.client();
    for (int i = 0; i < 5; ++i)
        CHECK(client.login("admin", "wrong password " + std::to_string(i)).status == 401);
    // Locked now, even with the right password.
    const Response locked = client.login("admin", appliance.first_password);
    CHECK(locked.status == 429);
    const int retry_after = std::stoi(locked.header("Retry-After"));
    CHECK(retry_after > 250);
    CHECK(retry_after <= 300);
    CHECK_THAT(body_of(locked)["error"].get<std::string>(), Contains("Too many failed logins"));
    check_security_headers(locked);
    CHECK(appliance.app->core().log().wait_for(
        R"(login locked out for 127\.0\.0\.1 after repeated failures)", 5s));
}

TEST_CASE("admin: without a session the API answers 401 and pages redirect to the login page",
          "[e2e][admin]") {
    AdminAppliance appliance;
    AdminClient client = appliance.client();
    for (const char* path :
         {"/api/v1/session", "/api/v1/rules", "/api/v1/audit", "/api/v1/status/targets"}) {
        const Response response = client.get(path);
        INFO(path);
        CHECK(response.status == 401);
        CHECK(response.header("Content-Type") == "application/json");
        CHECK(response.header("Cache-Control") == "no-store");
        check_security_headers(response);
    }
    CHECK(client.request(http::verb::delete_, "/api/v1/rules/1").status == 401);
    // A forged cookie is no session either.
    CHECK(client
              .get("/api/v1/rules",
                   AdminRequestOptions().header(
                       "Cookie", "edgeway_admin=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
              .status == 401);

    for (const char* page : {"/", "/rules", "/webproxy"}) {
        const Response response = client.get(page);
        INFO(page);
        CHECK(response.status == 303);
        CHECK(response.header("Location") == "/login");
        check_security_headers(response);
    }
    const Response login = client.get("/login");
    CHECK(login.status == 200);
    CHECK_THAT(login.header("Content-Type"), StartsWith("text/html"));
    CHECK_THAT(login.body, Contains("<form id=\"login-form\""));
    // No inline script anywhere: every <script> has a src.
    for (auto at = login.body.find("<script"); at != std::string::npos;
         at = login.body.find("<script", at + 1))
        CHECK(login.body.compare(at, 12, "<script src=") == 0);
    check_security_headers(login);
    const Response css = client.get("/assets/app.css");
    CHECK(css.status == 200);
    CHECK_THAT(css.header("Content-Type"), StartsWith("text/css"));
    check_security_headers(css);
    const Response missing = client.get("/assets/nothing.js");
    CHECK(missing.status == 404);
    check_security_headers(missing);

    AdminClient admin = appliance.logged_in();
    const Response rules_page = admin.get("/rules");
    CHECK(rules_page.status == 200);
    CHECK_THAT(rules_page.body,
               Contains("Automatically added rules") && Contains("Editable rules"));
    CHECK(admin.get("/").header("Location") == "/rules");
    CHECK_THAT(admin.get("/webproxy").body,
               Contains("Guest account client URI resolved to the following targets"));
}

TEST_CASE("admin: state-changing requests need the session's CSRF token and a same-origin Origin",
          "[e2e][admin]") {
    AdminAppliance appliance;
    AdminClient admin = appliance.logged_in();
    const json rule = health_rule(*appliance.app);

    const Response no_token =
        admin.post_json("/api/v1/rules", rule, AdminRequestOptions().no_csrf());
    CHECK(no_token.status == 403);
    CHECK_THAT(body_of(no_token)["error"].get<std::string>(), Contains("X-CSRF-Token"));
    check_security_headers(no_token);
    CHECK(admin
              .post_json("/api/v1/rules", rule,
                         AdminRequestOptions().no_csrf().header("X-CSRF-Token", "wrong-token"))
              .status == 403);
    // Another site's page cannot act, even knowing the token.
    CHECK(admin
              .post_json("/api/v1/rules", rule,
                         AdminRequestOptions().origin_header("https://evil.example"))
              .status == 403);
    CHECK(admin
              .post_json("/api/v1/session", {{"user", "admin"}, {"password", "x"}},
                         AdminRequestOptions().no_cookie().origin_header("https://evil.example"))
              .status == 403);
    // Logging out needs the token too (else any site could log the operator out).
    CHECK(admin.request(http::verb::delete_, "/api/v1/session", {}, AdminRequestOptions().no_csrf())
              .status == 403);
    CHECK(admin.get("/api/v1/session").status == 200);
    // Nothing was added by the refused requests.
    CHECK(body_of(admin.get("/api/v1/rules"))["editable"].empty());

    // With the token (and with or without Origin, which non-browser clients may omit) it works.
    CHECK(admin.post_json("/api/v1/rules", rule, AdminRequestOptions().origin_header("")).status ==
          201);
    CHECK(body_of(admin.get("/api/v1/rules"))["editable"].size() == 1);
}

TEST_CASE(
    "admin: a rule added through the API opens a refused path on 443 within a second, and "
    "deleting it closes the path again",
    "[e2e][admin]") {
    // The join URL does not resolve: no automatic rules, so the edge refuses everything.
    AdminAppliance appliance(json{{"join_url", "https://join.edgeway.test/"}});
    Appliance& app = *appliance.app;
    AdminClient admin = appliance.logged_in();
    const TlsTarget edge = app.target();
    REQUIRE(https_get(edge, "/health").status == 403);

    const auto version_before = body_of(admin.get("/api/v1/rules"))["version"].get<int>();
    const Response added = admin.post_json("/api/v1/rules", health_rule(app));
    REQUIRE(added.status == 201);
    const json rule = body_of(added);
    const auto id = rule["id"].get<int>();
    CHECK(id > 0);
    CHECK(rule["origin"] == "operator");
    CHECK(added.header("Location") == "/api/v1/rules/" + std::to_string(id));
    const auto start = Clock::now();
    CHECK(wait_until([&] { return https_get(edge, "/health").status == 200; }, 5s, 10ms));
    const double ms = elapsed_ms(start);
    INFO("the rule took " << ms << " ms to reach the edge");
    CHECK(ms < 1500);

    const json listed = body_of(admin.get("/api/v1/rules"));
    CHECK(listed["version"].get<int>() > version_before);
    CHECK(listed["automatic"].empty());
    REQUIRE(listed["editable"].size() == 1);
    CHECK(listed["editable"][0]["description"] == "health checks via admin");
    // The same rule again is a conflict, not a second copy.
    CHECK(admin.post_json("/api/v1/rules", health_rule(app)).status == 409);

    const Response removed =
        admin.request(http::verb::delete_, "/api/v1/rules/" + std::to_string(id));
    CHECK(removed.status == 200);
    CHECK(wait_until([&] { return https_get(edge, "/health").status == 403; }, 5s, 10ms));
    CHECK(admin.request(http::verb::delete_, "/api/v1/rules/" + std::to_string(id)).status == 404);
    CHECK(admin.request(http::verb::delete_, "/api/v1/rules/not-a-number").status == 404);

    // Both changes are audited with the operator and the address they came from.
    const json audit = body_of(admin.get("/api/v1/audit"));
    REQUIRE(audit["entries"].size() >= 2);
    CHECK(audit["entries"][0]["action"] == "rule removed");
    CHECK(audit["entries"][0]["who"] == "admin:admin from 127.0.0.1");
    CHECK(audit["entries"][1]["action"] == "rule added");
    CHECK(audit["entries"][1]["who"] == "admin:admin from 127.0.0.1");
    CHECK_THAT(audit["entries"][1]["detail"].get<std::string>(), Contains("/health"));
}

TEST_CASE("admin: an invalid rule is refused with 422 naming the field", "[e2e][admin]") {
    AdminAppliance appliance;
    AdminClient admin = appliance.logged_in();
    const json good = health_rule(*appliance.app);
    struct Bad {
        const char* field;
        json patch;
    };
    const std::vector<Bad> cases = {
        {"methods", {{"methods", {"FETCH"}}}}, {"methods", {{"methods", json::array()}}},
        {"host", {{"host", nullptr}}},         {"host", {{"host", "exa mple.com"}}},
        {"port", {{"port", 70000}}},           {"path", {{"path", "no-slash"}}},
        {"path", {{"path", "/a/%2e%2e/b"}}},   {"protocol", {{"protocol", "ftp"}}},
        {"match", {{"match", "regex"}}},       {"colour", {{"colour", "red"}}},
    };
    for (const auto& bad : cases) {
        json rule = good;
        rule.merge_patch(bad.patch);
        const Response response = admin.post_json("/api/v1/rules", rule);
        INFO(rule.dump() << " -> " << response.body);
        CHECK(response.status == 422);
        const json body = body_of(response);
        CHECK(body["field"] == bad.field);
        CHECK_THAT(body["error"].get<std::string>(),
                   Contains(std::string("\"") + bad.field + "\""));
    }
    const Response not_json = admin.request(http::verb::post, "/api/v1/rules", "{not json");
    CHECK(not_json.status == 400);
    const Response form = admin.request(
        http::verb::post, "/api/v1/rules", "host=x",
        AdminRequestOptions().header("Content-Type", "application/x-www-form-urlencoded"));
    CHECK(form.status == 415);
    CHECK(body_of(admin.get("/api/v1/rules"))["editable"].empty());
}

TEST_CASE("admin: the targets page lists what the join URL resolved to", "[e2e][admin]") {
    AdminAppliance appliance;
    AdminClient admin = appliance.logged_in();
    json rows;
    CHECK(wait_until(
        [&] {
            rows = body_of(admin.get("/api/v1/status/targets"))["targets"];
            return !rows.empty();
        },
        10s, 50ms));
    REQUIRE(rows.size() == 1);
    CHECK(rows[0]["uri"] ==
          "https://localhost:" + std::to_string(appliance.app->https_port()) + "/");
    CHECK(rows[0]["name"] == "localhost");
    CHECK(rows[0]["address"] == "127.0.0.1:" + std::to_string(appliance.app->webbridge_port()));
    CHECK(rows[0]["error"] == "");
    const json rules = body_of(admin.get("/api/v1/rules"));
    CHECK(rules["automatic"].size() == 2);  // https and wss for the web bridge
}

TEST_CASE("admin: nothing of the admin answers on the 443 listener", "[e2e][admin]") {
    SECTION("where the allow list does not open the path, the edge refuses it") {
        AdminAppliance appliance(json{{"join_url", "https://join.edgeway.test/"}});
        const TlsTarget edge = appliance.app->target();
        for (const char* path : {"/api/v1/session", "/login", "/rules", "/assets/app.css"})
            CHECK(https_get(edge, path).status == 403);
        CHECK(appliance.app->edge().log().wait_for(access_line("/api/v1/session"), 5s));
    }
    SECTION("where it opens everything (automatic rules), the web bridge answers, not the admin") {
        AdminAppliance appliance;
        const TlsTarget edge = appliance.app->target();
        const Response session = https_request(
            edge,
            make_request(edge, http::verb::post, "/api/v1/session",
                         json{{"user", "admin"}, {"password", appliance.first_password}}.dump(),
                         {{"Content-Type", "application/json"}}));
        CHECK(session.status != 200);
        CHECK(session.header("Set-Cookie").empty());
        CHECK_THAT(session.body, !Contains("csrf_token"));
        const Response page = https_get(edge, "/login");
        CHECK_THAT(page.body, !Contains("login-form"));
        CHECK(page.status == 404);  // the demo web bridge has no such page
    }
}

TEST_CASE(
    "admin: edgeway admin passwd sets a password that logs in, and no password is stored in "
    "clear",
    "[e2e][admin]") {
    AdminAppliance appliance;
    const std::filesystem::path dir = appliance.app->dir().path();
    const std::string password = "correct horse battery staple";

    const RunResult short_one =
        passwd(dir, "short", {"operator", "--state-dir", appliance.state().string()});
    CHECK(short_one.exit_code == 2);
    CHECK_THAT(short_one.output, Contains("too short") && Contains("12 characters"));

    // While the core runs: the next login uses the new password.
    const RunResult set =
        passwd(dir, password, {"operator", "--config", (dir / "core-1.json").string()});
    INFO(set.output);
    REQUIRE(set.exit_code == 0);
    CHECK_THAT(set.output, Contains("password of admin account \"operator\" set"));
    AdminClient client = appliance.client();
    CHECK(client.login("operator", "wrong " + password).status == 401);
    const Response ok = client.login("operator", password);
    CHECK(ok.status == 200);
    CHECK(body_of(ok)["user"] == "operator");

    // The first admin's password can be replaced the same way.
    const std::string replaced = "another long enough password";
    REQUIRE(passwd(dir, replaced, {"admin", "--state-dir", appliance.state().string()}).exit_code ==
            0);
    CHECK(client.login("admin", appliance.first_password).status == 401);
    CHECK(client.login("admin", replaced).status == 200);

    const std::string stored =
        read_file(appliance.state() / "admin.db") + read_file(appliance.state() / "admin.db-wal");
    CHECK(stored.find("scrypt$ln=15,r=8,p=1$") != std::string::npos);
    CHECK(stored.find(password) == std::string::npos);
    CHECK(stored.find(replaced) == std::string::npos);
    CHECK(stored.find(appliance.first_password) == std::string::npos);
    CHECK((std::filesystem::status(appliance.state() / "admin.db").permissions() &
           std::filesystem::perms::others_read) == std::filesystem::perms::none);
}

TEST_CASE("admin: a head or body over the limits gets 431 or 413", "[e2e][admin]") {
    AdminAppliance appliance;
    AdminClient client = appliance.client();
    const Response head =
        client.get("/login", AdminRequestOptions().header("X-Big", std::string(20000, 'a')));
    CHECK(head.status == 431);
    check_security_headers(head);
    const Response body =
        client.request(http::verb::post, "/api/v1/session", std::string(70000, ' '));
    CHECK(body.status == 413);
    CHECK_THAT(body_of(body)["error"].get<std::string>(), Contains("larger than 65536 bytes"));
}
