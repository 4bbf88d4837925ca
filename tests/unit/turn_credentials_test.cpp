// The TURN credential database, the `edgeway turn` command, nonces and the peer policy.
#include "tests/turn/turn_support.hpp"
#include "turn/credential_store.hpp"
#include "turn/nonce.hpp"
#include "turn/peer_policy.hpp"
#include "turn/turn.hpp"

#include <sys/stat.h>
#include <catch2/catch.hpp>

#include <sstream>

using namespace edgeway::turn;
using edgeway::turn::test::ScratchDir;

namespace {

int cli(const std::vector<std::string>& args, const std::string& input, std::string& out,
        std::string& err) {
    std::istringstream in(input);
    std::ostringstream o, e;
    const int code = run_turn_command(
        args,
        [](const std::filesystem::path& file) -> CliSettings {
            if (file.filename() != "edge.json") throw std::runtime_error("edge.json expected");
            return {file.parent_path() / "from-config", "TANDBERG", {}};
        },
        in, o, e);
    out = o.str();
    err = e.str();
    return code;
}

}  // namespace

TEST_CASE("turn credentials: users keep MD5(user:realm:password) in a private file",
          "[turn][unit]") {
    ScratchDir dir;
    const auto file = dir / "state" / kCredentialDatabaseFile;
    {
        CredentialStore store(file);
        store.set_user("cmsturn", "TANDBERG", "s3cret");
        store.set_user("other", "TANDBERG", "x");
        CHECK_FALSE(store.find("nobody"));
    }
    struct stat st {};
    REQUIRE(::stat(file.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    REQUIRE(::stat(file.parent_path().c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    CHECK(edgeway::turn::test::read_text(file).find("s3cret") == std::string::npos);

    CredentialStore reopened(file);
    const auto key = reopened.find("cmsturn");
    REQUIRE(key);
    CHECK(key->realm == "TANDBERG");
    CHECK(key->key == stun::long_term_key("cmsturn", "TANDBERG", "s3cret"));
    reopened.set_user("cmsturn", "TANDBERG", "changed");
    CHECK(reopened.find("cmsturn")->key == stun::long_term_key("cmsturn", "TANDBERG", "changed"));
    CHECK(reopened.users().size() == 2);
    CHECK(reopened.remove_user("other"));
    CHECK_FALSE(reopened.remove_user("other"));
    CHECK(reopened.users().size() == 1);

    CHECK_FALSE(reopened.shared_secret());
    reopened.set_shared_secret("restsecret");
    CHECK(*reopened.shared_secret() == "restsecret");
    reopened.set_shared_secret(std::nullopt);
    CHECK_FALSE(reopened.shared_secret());
}

TEST_CASE("turn credentials: a database from a newer edgeway is refused, naming the file",
          "[turn][unit]") {
    ScratchDir dir;
    const auto file = dir / "turn.db";
    { CredentialStore store(file); }
    REQUIRE(std::system(("sqlite3 " + file.string() +
                         " 'PRAGMA user_version = 9' 2>/dev/null || "
                         "python3 -c \"import sqlite3; c=sqlite3.connect('" +
                         file.string() + "'); c.execute('PRAGMA user_version = 9')\"")
                            .c_str()) == 0);
    try {
        CredentialStore store(file);
        FAIL("opened a version 9 database");
    } catch (const CredentialError& e) {
        CHECK(std::string(e.what()).find(file.string()) != std::string::npos);
        CHECK(std::string(e.what()).find("schema version 9") != std::string::npos);
    }
}

TEST_CASE("turn cli: user add, list and remove", "[turn][unit]") {
    ScratchDir dir;
    const auto state = (dir / "state").string();
    std::string out, err;
    CHECK(cli({"user", "add", "cmsturn", "--state-dir", state, "--realm", "TANDBERG"},
              "pw-from-stdin\n", out, err) == 0);
    CHECK(out.find("TURN user \"cmsturn\" set for realm \"TANDBERG\"") != std::string::npos);
    CHECK(out.find("pw-from-stdin") == std::string::npos);

    CHECK(cli({"user", "add", "gen", "--generate", "--state-dir", state}, "", out, err) == 0);
    const auto at = out.find("password: ");
    REQUIRE(at != std::string::npos);
    const std::string generated = out.substr(at + 10, out.find('\n', at) - at - 10);
    CHECK(generated.size() == 24);
    {
        CredentialStore store(dir / "state" / kCredentialDatabaseFile);
        CHECK(store.find("gen")->key == stun::long_term_key("gen", "edgeway", generated));
        CHECK(store.find("cmsturn")->key ==
              stun::long_term_key("cmsturn", "TANDBERG", "pw-from-stdin"));
    }
    CHECK(cli({"user", "list", "--state-dir", state}, "", out, err) == 0);
    CHECK(out.find("cmsturn\trealm=TANDBERG") != std::string::npos);
    CHECK(out.find("gen\trealm=edgeway") != std::string::npos);

    CHECK(cli({"user", "remove", "gen", "--state-dir", state}, "", out, err) == 0);
    CHECK(cli({"user", "remove", "gen", "--state-dir", state}, "", out, err) == 1);
    CHECK(err.find("no TURN user \"gen\"") != std::string::npos);

    CHECK(cli({"user", "add", "empty", "--state-dir", state}, "", out, err) == 2);
    CHECK(cli({"user", "frobnicate"}, "", out, err) == 2);
    CHECK(cli({"--help"}, "", out, err) == 0);
    CHECK(out.find("usage: edgeway turn user add") != std::string::npos);

    // --config: the state directory and realm come from the edge's configuration.
    CHECK(cli({"user", "add", "viaconfig", "--config", (dir / "edge.json").string()}, "pw\n", out,
              err) == 0);
    CHECK(out.find("realm \"TANDBERG\"") != std::string::npos);
    CHECK(std::filesystem::exists(dir / "from-config" / kCredentialDatabaseFile));
    CHECK(cli({"user", "list", "--config", (dir / "other.json").string()}, "", out, err) == 2);
    CHECK(err.find("edge.json expected") != std::string::npos);

    CHECK(cli({"secret", "set", "--state-dir", state}, "shared\n", out, err) == 0);
    CHECK(*CredentialStore(dir / "state" / kCredentialDatabaseFile).shared_secret() == "shared");
}

TEST_CASE("turn nonces: valid until their lifetime, then stale, and forged ones invalid",
          "[turn][unit]") {
    const NonceIssuer issuer(std::chrono::seconds(10));
    const auto now = SteadyClock::now();
    const auto nonce = issuer.issue(now);
    CHECK(issuer.check(nonce, now) == NonceIssuer::Check::valid);
    CHECK(issuer.check(nonce, now + std::chrono::seconds(11)) == NonceIssuer::Check::stale);
    std::string forged = nonce;
    forged[3] = forged[3] == '0' ? '1' : '0';  // a later expiry, same MAC
    CHECK(issuer.check(forged, now) == NonceIssuer::Check::invalid);
    CHECK(issuer.check("short", now) == NonceIssuer::Check::invalid);
    const NonceIssuer other(std::chrono::seconds(10));  // another key: a restarted relay
    CHECK(other.check(nonce, now) == NonceIssuer::Check::invalid);
}

TEST_CASE("turn peer policy: loopback, link-local and own addresses refused unless allowed",
          "[turn][unit]") {
    using boost::asio::ip::make_address;
    const PeerPolicy strict({}, {make_address("192.0.2.10")});
    CHECK(strict.refusal(make_address("127.0.0.1")));
    CHECK(strict.refusal(make_address("::1")));
    CHECK(strict.refusal(make_address("::ffff:127.0.0.1")));
    CHECK(strict.refusal(make_address("169.254.1.1")));
    CHECK(strict.refusal(make_address("fe80::1")));
    CHECK(strict.refusal(make_address("0.0.0.0")));
    CHECK(strict.refusal(make_address("224.0.0.1")));
    CHECK(*strict.refusal(make_address("192.0.2.10")) == "this server's own address");
    CHECK_FALSE(strict.refusal(make_address("198.51.100.7")));

    const PeerPolicy open({parse_range("127.0.0.0/8"), parse_range("192.0.2.10")},
                          {make_address("192.0.2.10")});
    CHECK_FALSE(open.refusal(make_address("127.0.0.2")));
    CHECK_FALSE(open.refusal(make_address("192.0.2.10")));
    CHECK(open.refusal(make_address("169.254.1.1")));
    CHECK_THROWS_WITH(parse_range("10.0.0.0/33"), Catch::Contains("allowed_peer_ranges"));
    CHECK_THROWS_WITH(parse_range("nonsense/8"), Catch::Contains("allowed_peer_ranges"));
}
