// PEM certificates as an operator sees and uploads them: what a certificate says (subject, SAN
// names, issuer, validity, SHA-256 fingerprint), and whether an uploaded chain and key can be
// used (it parses, leaf first with each certificate issued by the next, the key matches the
// leaf, the leaf is valid now).
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace edgeway::admin {

struct CertificateInfo {
    std::string subject, issuer;
    std::vector<std::string> names;     // subjectAltName DNS and IP entries
    std::string not_before, not_after;  // ISO-8601 UTC
    std::string sha256;                 // "AB:CD:..." of the DER leaf
};

// What is wrong with an upload; field is "certificate" or "private_key".
class CertificateError : public std::runtime_error {
  public:
    CertificateError(std::string field, const std::string& message)
        : std::runtime_error(message), field_(std::move(field)) {}
    const std::string& field() const { return field_; }

  private:
    std::string field_;
};

// The leaf (first certificate) of a PEM text. Throws CertificateError.
CertificateInfo describe_certificate(const std::string& pem);
// Reads the file first; throws CertificateError naming it when it cannot be read.
CertificateInfo describe_certificate_file(const std::filesystem::path& file);

// Checks a chain and key as above; returns the leaf's description. Throws CertificateError.
CertificateInfo check_certificate_and_key(const std::string& certificate_pem,
                                          const std::string& private_key_pem);

// Checks PEM text holding one or more CA certificates (what a link peer's certificate must chain
// to): each parses, is a CA and is valid now. Returns the first's description. Throws
// CertificateError (field "certificate").
CertificateInfo check_ca_certificates(const std::string& pem);

// Writes text to file through a temporary file in the same directory and a rename, so a reader
// sees the old file or the new one, never a part. mode applies to the new file (0600 for keys).
void write_file_atomically(const std::filesystem::path& file, const std::string& text,
                           std::filesystem::perms mode);

}  // namespace edgeway::admin
