// The command line: help for every subcommand, usage errors, `edgeway pki`.
#include "tests/e2e/e2e.hpp"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>

using namespace edgeway::test;

namespace {

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

bool certificate_has_host(const std::filesystem::path& file, const std::string& host) {
    std::unique_ptr<FILE, int (*)(FILE*)> in(std::fopen(file.c_str(), "r"), &std::fclose);
    if (!in) return false;
    std::unique_ptr<X509, void (*)(X509*)> cert(PEM_read_X509(in.get(), nullptr, nullptr, nullptr),
                                                &X509_free);
    return cert && X509_check_host(cert.get(), host.c_str(), host.size(), 0, nullptr) == 1;
}

}  // namespace

TEST_CASE("every subcommand's --help exits 0 and prints its usage", "[e2e][cli]") {
    TempDir dir("edgeway-cli");
    int n = 0;
    for (const std::vector<std::string>& args : {std::vector<std::string>{"--help"},
                                                 {"edge", "--help"},
                                                 {"core", "--help"},
                                                 {"webbridge-demo", "--help"},
                                                 {"demo", "--help"},
                                                 {"pki", "--help"},
                                                 {"admin", "--help"}}) {
        const auto run = run_program(edgeway_binary(), args,
                                     dir / ("help-" + std::to_string(++n) + ".log"), 10s);
        INFO(args.front() << ": " << run.output);
        CHECK(run.exit_code == 0);
        CHECK_THAT(lower(run.output), Contains("usage"));
        if (args.size() > 1) CHECK_THAT(run.output, Contains(args.front()));
    }
}

TEST_CASE("an unknown subcommand or option is a usage error", "[e2e][cli]") {
    TempDir dir("edgeway-cli");
    auto run = run_program(edgeway_binary(), {"frobnicate"}, dir / "a.log", 10s);
    INFO(run.output);
    CHECK(run.exit_code == 2);
    run = run_program(edgeway_binary(), {"edge", "--no-such-option"}, dir / "b.log", 10s);
    INFO(run.output);
    CHECK(run.exit_code == 2);
    run = run_program(edgeway_binary(), {}, dir / "c.log", 10s);
    CHECK(run.exit_code == 2);
}

TEST_CASE("edgeway pki creates the lab PKI with the extra host names", "[e2e][cli]") {
    TempDir dir("edgeway-cli");
    const auto pki_dir = dir / "pki";
    const auto run = run_program(edgeway_binary(),
                                 {"pki", "--dir", pki_dir.string(), "--host", "meet.example.test"},
                                 dir / "pki.log", 20s);
    INFO(run.output);
    REQUIRE(run.exit_code == 0);
    const tls::LabPki pki{pki_dir};
    for (const auto& file : {pki.ca_cert(), pki.ca_key(), pki.edge_cert(), pki.edge_key(),
                             pki.link_cert(), pki.link_key(), pki.core_cert(), pki.core_key(),
                             pki.webbridge_cert(), pki.webbridge_key()}) {
        INFO(file);
        CHECK(std::filesystem::exists(file));
    }
    CHECK(certificate_has_host(pki.edge_cert(), "meet.example.test"));
    CHECK(certificate_has_host(pki.edge_cert(), "localhost"));
    CHECK(certificate_has_host(pki.webbridge_cert(), "meet.example.test"));
}
