// `edgeway init`: a node's first start prepared from its configuration file alone (what the
// appliance's first boot runs): certificates from a node CA, the state directory, the first admin
// account whose password is printed once; a second run changes nothing.
#include "tests/e2e/e2e.hpp"

#include "tests/support/admin_client.hpp"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <sys/stat.h>

#include <fstream>
#include <regex>

using namespace edgeway::test;
namespace fs = std::filesystem;

namespace {

unsigned mode_of(const fs::path& file) {
    struct stat st {};
    ::stat(file.c_str(), &st);
    return st.st_mode & 0777;
}

// Whether the PEM certificate in file names host (DNS) and address (IP) and was issued by ca.
bool certificate_covers(const fs::path& file, const fs::path& ca, const std::string& host,
                        const std::string& address) {
    auto read = [](const fs::path& f) {
        std::unique_ptr<FILE, int (*)(FILE*)> in(std::fopen(f.c_str(), "r"), &std::fclose);
        return std::unique_ptr<X509, void (*)(X509*)>(
            in ? PEM_read_X509(in.get(), nullptr, nullptr, nullptr) : nullptr, &X509_free);
    };
    auto cert = read(file), issuer = read(ca);
    return cert && issuer &&
           X509_check_host(cert.get(), host.c_str(), host.size(), 0, nullptr) == 1 &&
           X509_check_ip_asc(cert.get(), address.c_str(), 0) == 1 &&
           X509_check_issued(issuer.get(), cert.get()) == X509_V_OK;
}

std::string password_in(const std::string& output) {
    std::smatch match;
    return std::regex_search(output, match, std::regex(R"(Password: (\S+))")) ? match[1].str() : "";
}

// An edge configuration on loopback whose certificates and state are all under dir, none of
// them there yet.
fs::path write_edge_config(const fs::path& dir) {
    const json config = {
        {"listen", {{"https", "127.0.0.1:0"}, {"http_redirect", ""}, {"link", "127.0.0.1:0"}}},
        {"tls",
         {{"certificate", (dir / "tls/edge.pem").string()},
          {"private_key", (dir / "tls/edge.key").string()}}},
        {"link_tls",
         {{"certificate", (dir / "tls/link.pem").string()},
          {"private_key", (dir / "tls/link.key").string()},
          {"client_ca", (dir / "tls/core-ca.pem").string()}}},
        {"state_directory", (dir / "state").string()},
        {"admin",
         {{"listen", "127.0.0.1:0"},
          {"certificate", (dir / "tls/admin.pem").string()},
          {"private_key", (dir / "tls/admin.key").string()}}}};
    write_json(dir / "edge.json", config);
    return dir / "edge.json";
}

}  // namespace

TEST_CASE(
    "edgeway init prepares an edge once: certificates, state and a first password that logs in",
    "[e2e][init]") {
    TempDir dir("edgeway-init");
    const fs::path config = write_edge_config(dir.path());
    const auto first = run_program(
        edgeway_binary(),
        {"init", "--config", config.string(), "--host", "edge1.test", "--ip", "127.0.0.1"},
        dir / "init-1.log", 30s);
    INFO(first.output);
    REQUIRE(first.exit_code == 0);
    const std::string password = password_in(first.output);
    REQUIRE(password.size() == 20);
    CHECK_THAT(first.output, Contains("Admin page: https://edge1.test:0/"));

    const fs::path tls_dir = dir / "tls";
    for (const char* name : {"edge", "link", "admin"}) {
        INFO(name);
        CHECK(certificate_covers(tls_dir / (std::string(name) + ".pem"), tls_dir / "node-ca.pem",
                                 "edge1.test", "127.0.0.1"));
        CHECK(mode_of(tls_dir / (std::string(name) + ".key")) == 0600);
        // Each certificate's fingerprint is printed, as the console shows it.
        CHECK_THAT(first.output,
                   Contains(tls::fingerprint_sha256(tls_dir / (std::string(name) + ".pem"))));
    }
    CHECK(mode_of(tls_dir / "node-ca.key") == 0600);
    // Cores must present certificates of this node's CA.
    CHECK(read_file(tls_dir / "core-ca.pem") == read_file(tls_dir / "node-ca.pem"));
    CHECK(mode_of(dir / "state") == 0700);

    // The node starts from these files, and the printed password logs in on its admin port.
    {
        ChildProcess edge("edge", edgeway_binary(), {"edge", "--config", config.string()},
                          dir / "edge.log");
        const auto admin_port =
            port_of(edge.require_log(R"(admin listening on 127\.0\.0\.1:(\d+))", 15s));
        CHECK(edge.log().count("first start: admin account") == 0);  // init made it already
        TlsTarget target;
        target.port = admin_port;
        target.ca_file = tls_dir / "node-ca.pem";
        target.server_name = "edge1.test";
        AdminClient admin(target);
        CHECK(admin.login("admin", password).status == 200);
        CHECK(admin.login("admin", password + "x").status == 401);
    }

    // Again: nothing is made or changed, and no password is shown.
    const std::string edge_pem = read_file(tls_dir / "edge.pem");
    const auto second = run_program(edgeway_binary(), {"init", "--config", config.string()},
                                    dir / "init-2.log", 30s);
    INFO(second.output);
    CHECK(second.exit_code == 0);
    CHECK(password_in(second.output).empty());
    CHECK_THAT(second.output, Contains("passwords are unchanged"));
    CHECK_THAT(second.output, !Contains("(new)"));
    CHECK(read_file(tls_dir / "edge.pem") == edge_pem);
}

TEST_CASE("edgeway init refuses a certificate without its key and a configuration it cannot read",
          "[e2e][init]") {
    TempDir dir("edgeway-init");
    const fs::path config = write_edge_config(dir.path());
    fs::create_directories(dir / "tls");
    std::ofstream(dir / "tls/edge.pem") << "an operator's certificate\n";
    auto run =
        run_program(edgeway_binary(), {"init", "--config", config.string()}, dir / "init.log", 30s);
    INFO(run.output);
    CHECK(run.exit_code == 1);
    CHECK_THAT(run.output, Contains("edge.pem exists without") && Contains("edge.key"));
    CHECK(read_file(dir / "tls/edge.pem") == "an operator's certificate\n");  // left as it was
    CHECK_FALSE(fs::exists(dir / "state/admin.db"));

    std::ofstream(config, std::ios::trunc) << "{\"listen\": 7}\n";
    run =
        run_program(edgeway_binary(), {"init", "--config", config.string()}, dir / "bad.log", 30s);
    INFO(run.output);
    CHECK(run.exit_code == 2);
    CHECK_THAT(run.output, Contains("edge.json"));
    run = run_program(edgeway_binary(), {"init"}, dir / "none.log", 30s);
    CHECK(run.exit_code == 2);
}
