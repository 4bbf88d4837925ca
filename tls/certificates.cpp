// A minimal certificate authority for labs, tests and the demo appliance (ECDSA P-256).
#include "tls/tls.hpp"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <sys/stat.h>
#include <cstdio>
#include <memory>
#include <stdexcept>

namespace edgeway::tls {
namespace {

struct Free {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
    void operator()(X509* p) const { X509_free(p); }
    void operator()(FILE* p) const { std::fclose(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Free>;
using Cert = std::unique_ptr<X509, Free>;
using File = std::unique_ptr<FILE, Free>;

[[noreturn]] void fail(const std::string& what) {
    char reason[256] = "unknown error";
    if (const unsigned long code = ERR_get_error()) ERR_error_string_n(code, reason, sizeof reason);
    ERR_clear_error();
    throw std::runtime_error(what + ": " + reason);
}

File open_file(const std::filesystem::path& path, const char* mode) {
    File file(std::fopen(path.c_str(), mode));
    if (!file) throw std::runtime_error("cannot open " + path.string());
    return file;
}

Key new_key() {
    Key key(EVP_EC_gen("P-256"));
    if (!key) fail("cannot generate an EC key");
    return key;
}

void write_key(const std::filesystem::path& path, EVP_PKEY* key) {
    // Created 0600 before anything is written, so the key is never readable by others.
    const mode_t old = ::umask(077);
    File file = open_file(path, "w");
    ::umask(old);
    if (PEM_write_PrivateKey(file.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
        fail("cannot write " + path.string());
}

void write_cert(const std::filesystem::path& path, X509* cert) {
    File file = open_file(path, "w");
    if (PEM_write_X509(file.get(), cert) != 1) fail("cannot write " + path.string());
}

Key read_key(const std::filesystem::path& path) {
    File file = open_file(path, "r");
    Key key(PEM_read_PrivateKey(file.get(), nullptr, nullptr, nullptr));
    if (!key) fail("cannot read key " + path.string());
    return key;
}

Cert read_cert(const std::filesystem::path& path) {
    File file = open_file(path, "r");
    Cert cert(PEM_read_X509(file.get(), nullptr, nullptr, nullptr));
    if (!cert) fail("cannot read certificate " + path.string());
    return cert;
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (!ext) fail("bad certificate extension " + value);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

Cert new_cert(const std::string& common_name, EVP_PKEY* key, long days) {
    Cert cert(X509_new());
    X509_set_version(cert.get(), 2);
    // A random 127-bit serial, as CAs must use unpredictable serials.
    unsigned char serial[16];
    RAND_bytes(serial, sizeof serial);
    serial[0] &= 0x7f;
    BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
    BN_free(bn);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), days * 24 * 3600);
    X509_set_pubkey(cert.get(), key);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>("Edgeway lab"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                               0);
    return cert;
}

}  // namespace

void write_ca(const std::filesystem::path& cert_file, const std::filesystem::path& key_file,
              const std::string& common_name) {
    Key key = new_key();
    Cert cert = new_cert(common_name, key.get(), 3650);
    X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
    add_extension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
    add_extension(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
    if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) fail("cannot sign CA certificate");
    write_key(key_file, key.get());
    write_cert(cert_file, cert.get());
}

void write_leaf(const std::filesystem::path& ca_cert_file, const std::filesystem::path& ca_key_file,
                const std::filesystem::path& cert_file, const std::filesystem::path& key_file,
                const Subject& subject, Usage usage) {
    Cert ca = read_cert(ca_cert_file);
    Key ca_key = read_key(ca_key_file);
    Key key = new_key();
    Cert cert = new_cert(subject.common_name, key.get(), 730);
    X509_set_issuer_name(cert.get(), X509_get_subject_name(ca.get()));
    add_extension(cert.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE");
    add_extension(cert.get(), ca.get(), NID_key_usage, "critical,digitalSignature");
    const char* eku = usage == Usage::server   ? "serverAuth"
                      : usage == Usage::client ? "clientAuth"
                                               : "serverAuth,clientAuth";
    add_extension(cert.get(), ca.get(), NID_ext_key_usage, eku);
    add_extension(cert.get(), ca.get(), NID_authority_key_identifier, "keyid");
    std::string san;
    for (const auto& dns : subject.dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + dns;
    for (const auto& ip : subject.ip_addresses) san += (san.empty() ? "IP:" : ",IP:") + ip;
    if (!san.empty()) add_extension(cert.get(), ca.get(), NID_subject_alt_name, san);
    if (X509_sign(cert.get(), ca_key.get(), EVP_sha256()) == 0) fail("cannot sign certificate");
    write_key(key_file, key.get());
    write_cert(cert_file, cert.get());
}

std::string fingerprint_sha256(const std::filesystem::path& cert_file) {
    const Cert cert = read_cert(cert_file);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (X509_digest(cert.get(), EVP_sha256(), digest, &length) != 1)
        fail("cannot hash " + cert_file.string());
    std::string text;
    for (unsigned int i = 0; i < length; ++i) {
        static constexpr char hex[] = "0123456789ABCDEF";
        if (i) text += ':';
        text += hex[digest[i] >> 4];
        text += hex[digest[i] & 15];
    }
    return text;
}

LabPki ensure_lab_pki(const std::filesystem::path& dir, const std::vector<std::string>& hosts) {
    std::filesystem::create_directories(dir);
    LabPki pki{dir};
    if (!std::filesystem::exists(pki.ca_cert()) || !std::filesystem::exists(pki.ca_key()))
        write_ca(pki.ca_cert(), pki.ca_key(), "Edgeway lab CA");
    std::vector<std::string> names{"localhost"};
    names.insert(names.end(), hosts.begin(), hosts.end());
    const std::vector<std::string> loopback{"127.0.0.1", "::1"};
    auto ensure = [&](const std::filesystem::path& cert, const std::filesystem::path& key,
                      const Subject& subject, Usage usage) {
        if (!std::filesystem::exists(cert) || !std::filesystem::exists(key))
            write_leaf(pki.ca_cert(), pki.ca_key(), cert, key, subject, usage);
    };
    ensure(pki.edge_cert(), pki.edge_key(), {names.front(), names, loopback}, Usage::server);
    ensure(pki.link_cert(), pki.link_key(), {"edge link", {"localhost"}, loopback}, Usage::server);
    ensure(pki.core_cert(), pki.core_key(), {"core", {}, {}}, Usage::client);
    ensure(pki.webbridge_cert(), pki.webbridge_key(), {"webbridge", names, loopback},
           Usage::server);
    return pki;
}

}  // namespace edgeway::tls
