// TLS contexts with the product's defaults: TLS 1.2+ only, forward-secret AEAD ciphers only.
#include "tls/tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <stdexcept>

namespace edgeway::tls {

std::string take_openssl_error(const std::string& when_none) {
    // The first error queued is the cause; the ones after it say where it surfaced.
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0) return when_none;
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    return buffer;
}

namespace {

// ECDHE with AES-GCM or ChaCha20-Poly1305 for TLS 1.2 (TLS 1.3 suites are all AEAD already),
// the same choice as Mozilla's "intermediate" profile.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& file) {
    throw std::runtime_error(what + " " + file.string() + ": " + take_openssl_error());
}

void apply_defaults(ssl::context& context) {
    SSL_CTX* ctx = context.native_handle();
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(
        ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_cipher_list(ctx, kTls12Ciphers);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
}

void load_identity(ssl::context& context, const std::filesystem::path& certificate,
                   const std::filesystem::path& key) {
    SSL_CTX* ctx = context.native_handle();
    if (SSL_CTX_use_certificate_chain_file(ctx, certificate.c_str()) != 1)
        fail("cannot load certificate", certificate);
    if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1)
        fail("cannot load private key", key);
    if (SSL_CTX_check_private_key(ctx) != 1) fail("private key does not match certificate", key);
}

std::string alpn_wire(const std::vector<std::string>& protocols) {
    std::string wire;
    for (const auto& p : protocols) {
        wire.push_back(static_cast<char>(p.size()));
        wire += p;
    }
    return wire;
}

// The server picks the first of its own protocols that the client offers. A client offering
// none of them is not refused here (nginx does the same): the caller checks what was agreed
// where it matters (the link requires h2).
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void* arg) {
    const auto* ours = static_cast<const std::string*>(arg);
    unsigned char* selected = nullptr;
    if (SSL_select_next_proto(
            &selected, outlen, reinterpret_cast<const unsigned char*>(ours->data()),
            static_cast<unsigned>(ours->size()), in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
}

// Keeps the ALPN list alive as long as the context that points at it.
struct ServerContext {
    ssl::context context{ssl::context::tls_server};
    std::string alpn;
};

}  // namespace

std::shared_ptr<ssl::context> make_server_context(const ServerOptions& options) {
    auto holder = std::make_shared<ServerContext>();
    ssl::context& context = holder->context;
    apply_defaults(context);
    load_identity(context, options.certificate_file, options.private_key_file);
    SSL_CTX* ctx = context.native_handle();
    if (!options.client_ca_file.empty()) {
        if (SSL_CTX_load_verify_locations(ctx, options.client_ca_file.c_str(), nullptr) != 1)
            fail("cannot load client CA", options.client_ca_file);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    }
    holder->alpn = alpn_wire(options.alpn);
    if (!holder->alpn.empty()) SSL_CTX_set_alpn_select_cb(ctx, select_alpn, &holder->alpn);
    return {holder, &holder->context};
}

std::shared_ptr<ssl::context> make_client_context(const ClientOptions& options) {
    auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
    apply_defaults(*context);
    SSL_CTX* ctx = context->native_handle();
    if (!options.certificate_file.empty())
        load_identity(*context, options.certificate_file, options.private_key_file);
    if (options.insecure) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    } else {
        if (options.ca_file.empty()) {
            SSL_CTX_set_default_verify_paths(ctx);
        } else if (SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr) != 1) {
            fail("cannot load CA", options.ca_file);
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    }
    const std::string wire = alpn_wire(options.alpn);
    if (!wire.empty())
        SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(wire.data()),
                                static_cast<unsigned>(wire.size()));
    return context;
}

void prepare_client(SSL* ssl, const std::string& host, bool verify) {
    SSL_set_tlsext_host_name(ssl, host.c_str());
    if (!verify) return;
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    // An address literal is matched against IP SANs, a name against DNS SANs.
    if (X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) != 1)
        X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
}

std::string negotiated_alpn(SSL* ssl) {
    const unsigned char* data = nullptr;
    unsigned int length = 0;
    SSL_get0_alpn_selected(ssl, &data, &length);
    return data ? std::string(reinterpret_cast<const char*>(data), length) : std::string();
}

std::string peer_common_name(SSL* ssl) {
    X509* cert = SSL_get1_peer_certificate(ssl);
    if (!cert) return {};
    char name[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, sizeof name);
    X509_free(cert);
    return name;
}

}  // namespace edgeway::tls
