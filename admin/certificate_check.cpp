#include "admin/certificate_check.hpp"

#include "tls/tls.hpp"

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <sstream>
#include <system_error>

namespace edgeway::admin {
namespace {

namespace fs = std::filesystem;

struct Free {
    void operator()(X509* x) const { X509_free(x); }
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
    void operator()(BIO* b) const { BIO_free(b); }
    void operator()(GENERAL_NAMES* n) const { GENERAL_NAMES_free(n); }
};
using X509Ptr = std::unique_ptr<X509, Free>;

std::vector<X509Ptr> read_chain(const std::string& pem) {
    if (pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos)
        throw CertificateError("certificate",
                               "certificate: expected PEM (-----BEGIN CERTIFICATE-----)");
    std::unique_ptr<BIO, Free> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    std::vector<X509Ptr> chain;
    ERR_clear_error();
    while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr))
        chain.emplace_back(cert);
    // The loop ends with "no start line" at the end of the text: only other errors count.
    const unsigned long error = ERR_peek_last_error();
    if (chain.empty() || (error && ERR_GET_REASON(error) != PEM_R_NO_START_LINE))
        throw CertificateError(
            "certificate", fmt::format("certificate: certificate {} does not parse: {}",
                                       chain.size() + 1, tls::take_openssl_error("no PEM data")));
    ERR_clear_error();
    return chain;
}

std::string name_text(const X509_NAME* name) {
    std::unique_ptr<BIO, Free> bio(BIO_new(BIO_s_mem()));
    X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(size));
}

std::string time_text(const ASN1_TIME* time) {
    std::tm tm{};
    if (ASN1_TIME_to_tm(time, &tm) != 1) return "";
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

CertificateInfo describe(X509* cert) {
    CertificateInfo info;
    info.subject = name_text(X509_get_subject_name(cert));
    info.issuer = name_text(X509_get_issuer_name(cert));
    info.not_before = time_text(X509_get0_notBefore(cert));
    info.not_after = time_text(X509_get0_notAfter(cert));
    std::unique_ptr<GENERAL_NAMES, Free> names(static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
        const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
        if (name->type == GEN_DNS) {
            const auto* text = name->d.dNSName;
            info.names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
                                    static_cast<std::size_t>(ASN1_STRING_length(text)));
        } else if (name->type == GEN_IPADD) {
            const auto* bytes = ASN1_STRING_get0_data(name->d.iPAddress);
            const int length = ASN1_STRING_length(name->d.iPAddress);
            // inet_ntop gives the usual short forms ("::1").
            char text[INET6_ADDRSTRLEN] = "";
            if (length == 4 || length == 16)
                ::inet_ntop(length == 4 ? AF_INET : AF_INET6, bytes, text, sizeof text);
            if (text[0] != '\0') info.names.emplace_back(text);
        }
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    X509_digest(cert, EVP_sha256(), digest, &length);
    for (unsigned int i = 0; i < length; ++i)
        info.sha256 += fmt::format("{}{:02X}", i ? ":" : "", digest[i]);
    return info;
}

}  // namespace

CertificateInfo describe_certificate(const std::string& pem) {
    return describe(read_chain(pem).front().get());
}

CertificateInfo describe_certificate_file(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw CertificateError("certificate", file.string() + ": cannot be read");
    std::stringstream text;
    text << in.rdbuf();
    return describe_certificate(text.str());
}

CertificateInfo check_certificate_and_key(const std::string& certificate_pem,
                                          const std::string& private_key_pem) {
    const auto chain = read_chain(certificate_pem);
    for (std::size_t i = 0; i + 1 < chain.size(); ++i)
        if (X509_check_issued(chain[i + 1].get(), chain[i].get()) != X509_V_OK)
            throw CertificateError(
                "certificate",
                fmt::format("certificate: the chain is out of order: certificate {} was not "
                            "issued by certificate {} (put the server certificate first, then "
                            "each issuer)",
                            i + 1, i + 2));
    if (private_key_pem.find("-----BEGIN") == std::string::npos ||
        private_key_pem.find("PRIVATE KEY-----") == std::string::npos)
        throw CertificateError("private_key",
                               "private_key: expected a PEM private key (-----BEGIN PRIVATE "
                               "KEY-----), unencrypted");
    std::unique_ptr<BIO, Free> bio(
        BIO_new_mem_buf(private_key_pem.data(), static_cast<int>(private_key_pem.size())));
    ERR_clear_error();
    // No passphrase callback: an encrypted key fails here instead of prompting.
    std::unique_ptr<EVP_PKEY, Free> key(PEM_read_bio_PrivateKey(
        bio.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr));
    if (!key)
        throw CertificateError("private_key",
                               "private_key: does not parse (an encrypted key is "
                               "not supported): " +
                                   tls::take_openssl_error("no PEM data"));
    if (X509_check_private_key(chain.front().get(), key.get()) != 1) {
        ERR_clear_error();
        throw CertificateError("private_key",
                               "private_key: does not match the certificate's public key");
    }
    if (X509_cmp_current_time(X509_get0_notAfter(chain.front().get())) <= 0)
        throw CertificateError(
            "certificate",
            "certificate: expired on " + time_text(X509_get0_notAfter(chain.front().get())));
    if (X509_cmp_current_time(X509_get0_notBefore(chain.front().get())) >= 0)
        throw CertificateError(
            "certificate",
            "certificate: not valid before " + time_text(X509_get0_notBefore(chain.front().get())));
    return describe(chain.front().get());
}

CertificateInfo check_ca_certificates(const std::string& pem) {
    const auto certificates = read_chain(pem);
    for (std::size_t i = 0; i < certificates.size(); ++i) {
        X509* cert = certificates[i].get();
        const std::string which = fmt::format("certificate {}", i + 1);
        if (X509_check_ca(cert) == 0)
            throw CertificateError("certificate", "certificate: " + which +
                                                      " is not a CA certificate (" +
                                                      name_text(X509_get_subject_name(cert)) + ")");
        if (X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0)
            throw CertificateError("certificate", "certificate: " + which + " expired on " +
                                                      time_text(X509_get0_notAfter(cert)));
        if (X509_cmp_current_time(X509_get0_notBefore(cert)) >= 0)
            throw CertificateError("certificate", "certificate: " + which +
                                                      " is not valid before " +
                                                      time_text(X509_get0_notBefore(cert)));
    }
    return describe(certificates.front().get());
}

void write_file_atomically(const fs::path& file, const std::string& text, fs::perms mode) {
    const fs::path temp = file.string() + ".tmp-" + std::to_string(::getpid());
    const int fd =
        ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, static_cast<mode_t>(mode));
    if (fd < 0)
        throw std::system_error(errno, std::generic_category(), temp.string() + ": cannot create");
    // The mode given to open() is reduced by the umask; the key must end up exactly 0600.
    ::fchmod(fd, static_cast<mode_t>(mode));
    std::size_t written = 0;
    while (written < text.size()) {
        const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int error = errno;
            ::close(fd);
            ::unlink(temp.c_str());
            throw std::system_error(error, std::generic_category(),
                                    temp.string() + ": cannot write");
        }
        written += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        const int error = errno;
        ::unlink(temp.c_str());
        throw std::system_error(error, std::generic_category(), temp.string() + ": cannot write");
    }
    if (::rename(temp.c_str(), file.c_str()) != 0) {
        const int error = errno;
        ::unlink(temp.c_str());
        throw std::system_error(error, std::generic_category(), file.string() + ": cannot replace");
    }
}

}  // namespace edgeway::admin
