// Public interface of the tls library: TLS contexts with modern defaults, and a small
// certificate authority for labs, tests and the demo appliance.
#pragma once

#include <boost/asio/ssl.hpp>
#include <boost/system/error_code.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace edgeway::tls {

namespace ssl = boost::asio::ssl;

// A listener's context. With client_ca_file set, clients must present a certificate signed by
// that CA (mutual TLS); otherwise no client certificate is asked for.
struct ServerOptions {
    std::filesystem::path certificate_file;  // PEM chain, leaf first
    std::filesystem::path private_key_file;  // PEM
    std::filesystem::path client_ca_file;    // empty: no client authentication
    std::vector<std::string> alpn;           // protocols offered, in preference order
};

// A dialler's context. Peers are verified against ca_file (or the system store when empty)
// unless insecure is set; certificate/key are presented when given (mutual TLS).
struct ClientOptions {
    std::filesystem::path ca_file;
    bool insecure = false;
    std::filesystem::path certificate_file;
    std::filesystem::path private_key_file;
    std::vector<std::string> alpn;
};

// TLS 1.2 and 1.3 only, forward-secret AEAD ciphers only, no compression, no renegotiation.
// Throws std::runtime_error naming the file and OpenSSL's reason when a file cannot be used.
std::shared_ptr<ssl::context> make_server_context(const ServerOptions& options);
std::shared_ptr<ssl::context> make_client_context(const ClientOptions& options);

// Sets SNI and, when verifying, the host name the peer certificate must match. Call on a client
// stream's native handle before the handshake.
void prepare_client(SSL* ssl, const std::string& host, bool verify);

// OpenSSL's reason for the last error on this thread's error queue, which it then clears;
// when_none when the queue is empty.
std::string take_openssl_error(const std::string& when_none = "unknown error");

// The ALPN protocol the handshake chose ("" when none).
std::string negotiated_alpn(SSL* ssl);

// The peer certificate's subject common name ("" when none).
std::string peer_common_name(SSL* ssl);

// A readable reason for a failed handshake or TLS read: OpenSSL's reason string and, for a
// certificate that failed verification, the verification result ("certificate verify failed:
// self-signed certificate in certificate chain").
std::string describe(const boost::system::error_code& ec, SSL* ssl = nullptr);

// --- Certificates for labs, tests and the demo -----------------------------------------------

struct Subject {
    std::string common_name;
    std::vector<std::string> dns_names;     // subjectAltName DNS entries
    std::vector<std::string> ip_addresses;  // subjectAltName IP entries
};

enum class Usage { server, client, server_and_client };

// Writes a new self-signed CA (ECDSA P-256, 10 years) to cert_file/key_file (key mode 0600).
void write_ca(const std::filesystem::path& cert_file, const std::filesystem::path& key_file,
              const std::string& common_name);

// Writes a leaf certificate signed by the given CA (ECDSA P-256, 2 years).
void write_leaf(const std::filesystem::path& ca_cert_file, const std::filesystem::path& ca_key_file,
                const std::filesystem::path& cert_file, const std::filesystem::path& key_file,
                const Subject& subject, Usage usage);

// The SHA-256 fingerprint of the first certificate in a PEM file, "AB:CD:...", as browsers show
// it. Throws std::runtime_error naming the file when it cannot be read.
std::string fingerprint_sha256(const std::filesystem::path& cert_file);

// The files of a lab PKI, all in one directory.
struct LabPki {
    std::filesystem::path dir;
    std::filesystem::path ca_cert() const { return dir / "ca.pem"; }
    std::filesystem::path ca_key() const { return dir / "ca.key"; }
    // Edge certificate for browsers (443): the join host, localhost, 127.0.0.1, ::1.
    std::filesystem::path edge_cert() const { return dir / "edge.pem"; }
    std::filesystem::path edge_key() const { return dir / "edge.key"; }
    // Edge certificate for the link port (server side of mutual TLS).
    std::filesystem::path link_cert() const { return dir / "link.pem"; }
    std::filesystem::path link_key() const { return dir / "link.key"; }
    // Core client certificate for the link.
    std::filesystem::path core_cert() const { return dir / "core.pem"; }
    std::filesystem::path core_key() const { return dir / "core.key"; }
    // Demo web bridge certificate: the join host, localhost, 127.0.0.1.
    std::filesystem::path webbridge_cert() const { return dir / "webbridge.pem"; }
    std::filesystem::path webbridge_key() const { return dir / "webbridge.key"; }
};

// Creates whatever of the lab PKI is missing in dir (existing files are kept, so a restart
// keeps the certificates a browser may already have accepted). hosts are extra DNS names for the
// edge and web bridge certificates.
LabPki ensure_lab_pki(const std::filesystem::path& dir, const std::vector<std::string>& hosts);

}  // namespace edgeway::tls
