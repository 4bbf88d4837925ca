#include "backup/sha256.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace edgeway::backup {

struct Sha256::Context {
    struct Free {
        void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
    };
    std::unique_ptr<EVP_MD_CTX, Free> context{EVP_MD_CTX_new()};
};

Sha256::Sha256() : context_(std::make_unique<Context>()) {
    if (!context_->context ||
        EVP_DigestInit_ex(context_->context.get(), EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("SHA-256 is not available");
}

Sha256::~Sha256() = default;

void Sha256::update(Bytes data) {
    EVP_DigestUpdate(context_->context.get(), data.data(), data.size());
}

std::string Sha256::hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_DigestFinal_ex(context_->context.get(), digest, &size);
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string text;
    for (unsigned int i = 0; i < size; ++i) {
        text += kDigits[digest[i] >> 4];
        text += kDigits[digest[i] & 0xf];
    }
    return text;
}

std::string sha256_hex(Bytes data) {
    Sha256 hash;
    hash.update(data);
    return hash.hex();
}

}  // namespace edgeway::backup
