// SIGHUP (`systemctl reload`) on an edge: new certificates for new connections, open connections
// untouched, and a broken file changes nothing.
#include "tests/e2e/e2e.hpp"

#include <csignal>
#include <fstream>

using namespace edgeway::test;
namespace fs = std::filesystem;

namespace {

constexpr const char* kReloaded = R"(certificates reloaded: https from )";
constexpr const char* kReloadFailed = R"(reload failed, the previous certificates stay in use: .*)";

// Whether a new TLS connection to target completes its handshake and a request.
bool answers(const TlsTarget& target) {
    try {
        return https_get(target, "/health").status == 200;
    } catch (const std::exception&) {
        return false;
    }
}

}  // namespace

TEST_CASE("SIGHUP gives new connections the edge's new certificate while open ones carry on") {
    Appliance app;
    HttpsConnection open_connection(app.target());
    REQUIRE(open_connection.get("/health").status == 200);

    // A certificate from another CA replaces the edge's files.
    const auto other = tls::ensure_lab_pki(app.dir() / "other-pki", {});
    fs::copy_file(other.edge_cert(), app.pki().edge_cert(), fs::copy_options::overwrite_existing);
    fs::copy_file(other.edge_key(), app.pki().edge_key(), fs::copy_options::overwrite_existing);
    TlsTarget old_ca = app.target();
    TlsTarget new_ca = app.target();
    new_ca.ca_file = other.ca_cert();
    CHECK(answers(old_ca));  // nothing changes before the signal
    CHECK_FALSE(answers(new_ca));

    app.edge().signal(SIGHUP);
    app.edge().require_log(kReloaded, 10s);
    CHECK(answers(new_ca));
    CHECK_FALSE(answers(old_ca));
    // The connection opened before the reload keeps its session and still works.
    CHECK(open_connection.get("/health").status == 200);
    // The link (its own listener, also reloaded) stayed up: requests went through it above.
    CHECK(app.edge().log().count(Appliance::kEdgeLinkUp) == 1);
}

TEST_CASE("SIGHUP with a broken certificate file keeps the previous certificate in use") {
    Appliance app;
    std::ofstream(app.pki().edge_cert(), std::ios::trunc) << "not a certificate\n";
    app.edge().signal(SIGHUP);
    const auto failure = app.edge().require_log(kReloadFailed, 10s);
    CHECK_THAT(failure[0], Contains(app.pki().edge_cert().string()));
    CHECK(app.edge().running());
    CHECK(answers(app.target()));
}
