#include "backup/pem_check.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

namespace edgeway::backup {

void check_pem(ItemKind kind, Bytes content, const std::string& name) {
    if (kind != ItemKind::certificate && kind != ItemKind::private_key) return;
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(content.data(), static_cast<int>(content.size())), &BIO_free);
    bool ok = false;
    if (bio && kind == ItemKind::certificate) {
        X509* certificate = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
        ok = certificate != nullptr;
        X509_free(certificate);
    } else if (bio) {
        // No passphrase callback: an encrypted key could not be used by the node either.
        EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, const_cast<char*>(""));
        ok = key != nullptr;
        EVP_PKEY_free(key);
    }
    ERR_clear_error();
    if (!ok)
        throw BackupError(BackupError::Reason::invalid_content,
                          name + ": not a PEM " +
                              (kind == ItemKind::certificate ? "certificate" : "private key"));
}

}  // namespace edgeway::backup
