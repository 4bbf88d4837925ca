#include "tests/support/data.hpp"

#include <openssl/evp.h>

#include <cstring>
#include <stdexcept>
#include <vector>

namespace edgeway::test {

struct Sha256::Impl {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Impl() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {
    if (impl_->ctx == nullptr || EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr) != 1) {
        throw std::runtime_error("EVP_DigestInit_ex failed");
    }
}

Sha256::~Sha256() = default;

void Sha256::update(const void* data, std::size_t size) {
    if (EVP_DigestUpdate(impl_->ctx, data, size) != 1) {
        throw std::runtime_error("EVP_DigestUpdate failed");
    }
}

std::string Sha256::hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(impl_->ctx, digest, &length) != 1) {
        throw std::runtime_error("EVP_DigestFinal_ex failed");
    }
    static const char* digits = "0123456789abcdef";
    std::string text;
    for (unsigned int i = 0; i < length; ++i) {
        text += digits[digest[i] >> 4];
        text += digits[digest[i] & 0xf];
    }
    return text;
}

std::string sha256_hex(std::string_view data) {
    Sha256 sha;
    sha.update(data);
    return sha.hex();
}

void fill_pattern(std::uint64_t offset, char* out, std::size_t size) {
    auto value = static_cast<unsigned>(offset % 251);
    for (std::size_t i = 0; i < size; ++i) {
        out[i] = static_cast<char>(static_cast<std::uint8_t>(value));
        if (++value == 251) value = 0;
    }
}

std::string pattern_bytes(std::uint64_t offset, std::size_t size) {
    std::string bytes(size, '\0');
    fill_pattern(offset, bytes.data(), size);
    return bytes;
}

std::string pattern_sha256(std::uint64_t size) {
    Sha256 sha;
    std::vector<char> block(64 * 1024);
    for (std::uint64_t done = 0; done < size;) {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(block.size(), size - done));
        fill_pattern(done, block.data(), n);
        sha.update(block.data(), n);
        done += n;
    }
    return sha.hex();
}

void RandomStream::fill(char* out, std::size_t size) {
    std::size_t i = 0;
    while (i < size) {
        // xorshift64*
        state_ ^= state_ >> 12;
        state_ ^= state_ << 25;
        state_ ^= state_ >> 27;
        const std::uint64_t word = state_ * 0x2545F4914F6CDD1Dull;
        const std::size_t n = std::min<std::size_t>(8, size - i);
        std::memcpy(out + i, &word, n);
        i += n;
    }
}

std::string RandomStream::bytes(std::size_t size) {
    std::string data(size, '\0');
    fill(data.data(), size);
    return data;
}

}  // namespace edgeway::test
