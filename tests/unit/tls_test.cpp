// Unit tests for the tls library: the lab PKI and the TLS contexts, with real handshakes over
// loopback inside the test process.
#include "tests/support/data.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/tls_client.hpp"

#include "tls/tls.hpp"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>

#include <cstdio>
#include <map>
#include <memory>

using namespace edgeway;
using namespace edgeway::test;
namespace fs = std::filesystem;

namespace {

struct X509Free {
    void operator()(X509* p) const { X509_free(p); }
};
using Cert = std::unique_ptr<X509, X509Free>;

Cert load_cert(const fs::path& file) {
    std::unique_ptr<FILE, int (*)(FILE*)> in(std::fopen(file.c_str(), "r"), &std::fclose);
    REQUIRE(in);
    Cert cert(PEM_read_X509(in.get(), nullptr, nullptr, nullptr));
    REQUIRE(cert);
    return cert;
}

// Whether leaf chains to ca, for the given purpose (X509_PURPOSE_SSL_SERVER / _CLIENT).
bool verifies(const fs::path& ca, const fs::path& leaf, int purpose) {
    Cert ca_cert = load_cert(ca);
    Cert leaf_cert = load_cert(leaf);
    std::unique_ptr<X509_STORE, void (*)(X509_STORE*)> store(X509_STORE_new(), &X509_STORE_free);
    X509_STORE_add_cert(store.get(), ca_cert.get());
    std::unique_ptr<X509_STORE_CTX, void (*)(X509_STORE_CTX*)> ctx(X509_STORE_CTX_new(),
                                                                   &X509_STORE_CTX_free);
    X509_STORE_CTX_init(ctx.get(), store.get(), leaf_cert.get(), nullptr);
    X509_STORE_CTX_set_purpose(ctx.get(), purpose);
    return X509_verify_cert(ctx.get()) == 1;
}

bool has_host(const fs::path& file, const std::string& host) {
    Cert cert = load_cert(file);
    return X509_check_host(cert.get(), host.c_str(), host.size(), 0, nullptr) == 1;
}

bool has_ip(const fs::path& file, const std::string& ip) {
    Cert cert = load_cert(file);
    return X509_check_ip_asc(cert.get(), ip.c_str(), 0) == 1;
}

std::vector<fs::path> all_files(const tls::LabPki& pki) {
    return {pki.ca_cert(),        pki.ca_key(),       pki.edge_cert(), pki.edge_key(),
            pki.link_cert(),      pki.link_key(),     pki.core_cert(), pki.core_key(),
            pki.webbridge_cert(), pki.webbridge_key()};
}

// One TLS handshake over loopback between a server and a client context; returns the client's
// and the server's error ("" for success) after the client also read one byte the server sent
// (with TLS 1.3, a rejected client certificate shows only after the handshake).
struct HandshakeResult {
    std::string client_error;
    std::string server_error;
    std::string client_alpn;
};

HandshakeResult handshake(ssl::context& server_context, ssl::context& client_context,
                          const std::string& server_name) {
    using namespace boost::asio::experimental::awaitable_operators;
    net::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    HandshakeResult result;
    auto server = [&]() -> net::awaitable<void> {
        TlsStream stream(io, server_context);
        co_await acceptor.async_accept(beast::get_lowest_layer(stream).socket(),
                                       net::use_awaitable);
        beast::get_lowest_layer(stream).expires_after(5s);
        auto [error] = co_await stream.async_handshake(ssl::stream_base::server,
                                                       net::as_tuple(net::use_awaitable));
        if (!error) {
            std::tie(error, std::ignore) = co_await net::async_write(
                stream, net::buffer("x", 1), net::as_tuple(net::use_awaitable));
        }
        if (error) result.server_error = tls::describe(error, stream.native_handle());
        beast::get_lowest_layer(stream).close();
    };
    auto client = [&]() -> net::awaitable<void> {
        TlsTarget target;
        target.port = acceptor.local_endpoint().port();
        target.server_name = server_name;
        target.timeout = 5s;
        TlsStream stream(io, client_context);
        auto& socket = beast::get_lowest_layer(stream);
        socket.expires_after(5s);
        co_await socket.async_connect(
            tcp::endpoint(net::ip::make_address("127.0.0.1"), target.port), net::use_awaitable);
        tls::prepare_client(stream.native_handle(), server_name, true);
        auto [error] = co_await stream.async_handshake(ssl::stream_base::client,
                                                       net::as_tuple(net::use_awaitable));
        if (!error) {
            char byte;
            std::tie(error, std::ignore) = co_await net::async_read(
                stream, net::buffer(&byte, 1), net::as_tuple(net::use_awaitable));
        }
        if (error) result.client_error = tls::describe(error, stream.native_handle());
        result.client_alpn = tls::negotiated_alpn(stream.native_handle());
        socket.close();
    };
    run_sync(io, [&]() -> net::awaitable<void> { co_await (server() && client()); }());
    return result;
}

}  // namespace

TEST_CASE("ensure_lab_pki creates every file of the lab PKI with private keys 0600",
          "[unit][tls]") {
    TempDir dir("edgeway-unit");
    const auto pki = tls::ensure_lab_pki(dir / "pki", {"meet.example.test"});
    CHECK(pki.dir == dir / "pki");
    for (const auto& file : all_files(pki)) {
        INFO(file);
        REQUIRE(fs::exists(file));
        CHECK(fs::file_size(file) > 100);
        if (file.extension() == ".key") {
            struct stat st {};
            REQUIRE(::stat(file.c_str(), &st) == 0);
            CHECK((st.st_mode & 0777) == 0600);
        }
    }
}

TEST_CASE("lab PKI certificates chain to the lab CA with the expected names and purposes",
          "[unit][tls]") {
    TempDir dir("edgeway-unit");
    const auto pki = tls::ensure_lab_pki(dir.path(), {"meet.example.test"});
    CHECK(verifies(pki.ca_cert(), pki.edge_cert(), X509_PURPOSE_SSL_SERVER));
    CHECK(verifies(pki.ca_cert(), pki.link_cert(), X509_PURPOSE_SSL_SERVER));
    CHECK(verifies(pki.ca_cert(), pki.webbridge_cert(), X509_PURPOSE_SSL_SERVER));
    CHECK(verifies(pki.ca_cert(), pki.core_cert(), X509_PURPOSE_SSL_CLIENT));
    CHECK_FALSE(verifies(pki.ca_cert(), pki.core_cert(), X509_PURPOSE_SSL_SERVER));

    CHECK(has_host(pki.edge_cert(), "localhost"));
    CHECK(has_host(pki.edge_cert(), "meet.example.test"));
    CHECK(has_ip(pki.edge_cert(), "127.0.0.1"));
    CHECK(has_ip(pki.edge_cert(), "::1"));
    CHECK_FALSE(has_host(pki.edge_cert(), "other.example.test"));
    CHECK(has_host(pki.link_cert(), "localhost"));
    CHECK(has_ip(pki.link_cert(), "127.0.0.1"));
    CHECK(has_host(pki.webbridge_cert(), "localhost"));
    CHECK(has_host(pki.webbridge_cert(), "meet.example.test"));
    CHECK(has_ip(pki.webbridge_cert(), "127.0.0.1"));

    TempDir other("edgeway-unit");
    const auto other_pki = tls::ensure_lab_pki(other.path(), {});
    CHECK_FALSE(verifies(other_pki.ca_cert(), pki.edge_cert(), X509_PURPOSE_SSL_SERVER));
}

TEST_CASE("ensure_lab_pki keeps existing files and recreates only missing ones", "[unit][tls]") {
    TempDir dir("edgeway-unit");
    const auto pki = tls::ensure_lab_pki(dir.path(), {});
    std::map<fs::path, std::string> before;
    for (const auto& file : all_files(pki)) before[file] = read_file(file);

    tls::ensure_lab_pki(dir.path(), {});
    for (const auto& file : all_files(pki)) {
        INFO(file);
        CHECK(read_file(file) == before[file]);
    }

    fs::remove(pki.webbridge_cert());
    fs::remove(pki.webbridge_key());
    tls::ensure_lab_pki(dir.path(), {});
    for (const auto& file : all_files(pki)) {
        INFO(file);
        REQUIRE(fs::exists(file));
        if (file == pki.webbridge_cert() || file == pki.webbridge_key()) {
            CHECK(read_file(file) != before[file]);
        } else {
            CHECK(read_file(file) == before[file]);
        }
    }
    // The new certificate is signed by the CA that was kept.
    CHECK(verifies(pki.ca_cert(), pki.webbridge_cert(), X509_PURPOSE_SSL_SERVER));
}

TEST_CASE("make_server_context names the file it cannot load", "[unit][tls]") {
    TempDir dir("edgeway-unit");
    const auto pki = tls::ensure_lab_pki(dir.path(), {});
    const auto missing = dir / "missing-cert.pem";

    tls::ServerOptions options{missing, pki.edge_key(), {}, {}};
    REQUIRE_THROWS_WITH(tls::make_server_context(options), Catch::Contains(missing.string()));

    options = {pki.edge_cert(), dir / "missing.key", {}, {}};
    REQUIRE_THROWS_WITH(tls::make_server_context(options),
                        Catch::Contains((dir / "missing.key").string()));

    options = {pki.edge_cert(), pki.edge_key(), dir / "missing-ca.pem", {}};
    REQUIRE_THROWS_WITH(tls::make_server_context(options),
                        Catch::Contains((dir / "missing-ca.pem").string()));

    // A key that belongs to another certificate.
    options = {pki.edge_cert(), pki.link_key(), {}, {}};
    REQUIRE_THROWS_WITH(tls::make_server_context(options),
                        Catch::Contains(pki.link_key().string()));

    options = {pki.edge_cert(), pki.edge_key(), pki.ca_cert(), {"h2"}};
    REQUIRE_NOTHROW(tls::make_server_context(options));
}

TEST_CASE("make_client_context names a CA file it cannot load", "[unit][tls]") {
    TempDir dir("edgeway-unit");
    tls::ClientOptions options;
    options.ca_file = dir / "nope.pem";
    REQUIRE_THROWS_WITH(tls::make_client_context(options),
                        Catch::Contains((dir / "nope.pem").string()));
}

TEST_CASE("contexts complete a handshake and agree on ALPN", "[unit][tls]") {
    TempDir dir("edgeway-unit");
    const auto pki = tls::ensure_lab_pki(dir.path(), {});
    auto server =
        tls::make_server_context({pki.link_cert(), pki.link_key(), pki.ca_cert(), {"h2"}});
    tls::ClientOptions client_options;
    client_options.ca_file = pki.ca_cert();
    client_options.certificate_file = pki.core_cert();
    client_options.private_key_file = pki.core_key();
    client_options.alpn = {"h2"};
    auto client = tls::make_client_context(client_options);
    const auto result = handshake(*server, *client, "localhost");
    CHECK(result.client_error == "");
    CHECK(result.server_error == "");
    CHECK(result.client_alpn == "h2");
}

TEST_CASE("a server requiring client certificates refuses a rogue or missing one", "[unit][tls]") {
    TempDir dir("edgeway-unit");
    const auto pki = tls::ensure_lab_pki(dir / "lab", {});
    tls::write_ca(dir / "rogue-ca.pem", dir / "rogue-ca.key", "Rogue CA");
    tls::write_leaf(dir / "rogue-ca.pem", dir / "rogue-ca.key", dir / "rogue.pem",
                    dir / "rogue.key", {"core", {}, {}}, tls::Usage::client);
    auto server = tls::make_server_context({pki.link_cert(), pki.link_key(), pki.ca_cert(), {}});

    tls::ClientOptions rogue;
    rogue.ca_file = pki.ca_cert();
    rogue.certificate_file = dir / "rogue.pem";
    rogue.private_key_file = dir / "rogue.key";
    auto result = handshake(*server, *tls::make_client_context(rogue), "localhost");
    CHECK(result.client_error != "");
    CHECK(result.server_error != "");

    tls::ClientOptions anonymous;
    anonymous.ca_file = pki.ca_cert();
    result = handshake(*server, *tls::make_client_context(anonymous), "localhost");
    CHECK(result.client_error != "");
    CHECK(result.server_error != "");
}

TEST_CASE("describe explains a server certificate that fails verification", "[unit][tls]") {
    TempDir dir("edgeway-unit");
    const auto pki = tls::ensure_lab_pki(dir / "lab", {});
    tls::write_ca(dir / "rogue-ca.pem", dir / "rogue-ca.key", "Rogue CA");
    auto server = tls::make_server_context({pki.webbridge_cert(), pki.webbridge_key(), {}, {}});

    tls::ClientOptions untrusting;
    untrusting.ca_file = dir / "rogue-ca.pem";
    auto result = handshake(*server, *tls::make_client_context(untrusting), "localhost");
    CHECK_THAT(result.client_error, Catch::Contains("certificate verify failed"));

    tls::ClientOptions trusting;
    trusting.ca_file = pki.ca_cert();
    result = handshake(*server, *tls::make_client_context(trusting), "other.example.test");
    CHECK_THAT(result.client_error, Catch::Contains("certificate verify failed"));
    CHECK_THAT(result.client_error, Catch::Contains("hostname mismatch"));
}
