#include "admin/password.hpp"

#include "admin/secrets.hpp"

#include <fmt/format.h>
#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <stdexcept>

namespace edgeway::admin {
namespace {

constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kKeyBytes = 32;
constexpr unsigned kMaxLog2N = 20;  // a stored hash may not make us allocate a gigabyte

std::string scrypt(std::string_view password, std::string_view salt, const ScryptCost& cost) {
    std::unique_ptr<EVP_KDF, decltype(&EVP_KDF_free)> kdf(EVP_KDF_fetch(nullptr, "SCRYPT", nullptr),
                                                          &EVP_KDF_free);
    if (!kdf) throw std::runtime_error("OpenSSL has no SCRYPT KDF");
    std::unique_ptr<EVP_KDF_CTX, decltype(&EVP_KDF_CTX_free)> ctx(EVP_KDF_CTX_new(kdf.get()),
                                                                  &EVP_KDF_CTX_free);
    std::uint64_t n = std::uint64_t{1} << cost.log2_n;
    std::uint32_t r = cost.r, p = cost.p;
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
                                          const_cast<char*>(password.data()), password.size()),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<char*>(salt.data()),
                                          salt.size()),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
        OSSL_PARAM_construct_end(),
    };
    std::string key(kKeyBytes, '\0');
    if (!ctx || EVP_KDF_derive(ctx.get(), reinterpret_cast<unsigned char*>(key.data()), key.size(),
                               params) != 1)
        throw std::runtime_error("scrypt failed");
    return key;
}

}  // namespace

std::string hash_password(std::string_view password, ScryptCost cost) {
    const std::string salt = random_bytes(kSaltBytes);
    return fmt::format("scrypt$ln={},r={},p={}${}${}", cost.log2_n, cost.r, cost.p,
                       to_base64url(salt), to_base64url(scrypt(password, salt, cost)));
}

bool verify_password(std::string_view password, std::string_view stored) {
    // scrypt $ params $ salt $ key
    if (std::count(stored.begin(), stored.end(), '$') != 3) return false;
    std::string_view parts[4];
    std::size_t count = 0;
    while (count < 4) {
        const auto dollar = stored.find('$');
        parts[count++] = stored.substr(0, dollar);
        if (dollar == std::string_view::npos) break;
        stored.remove_prefix(dollar + 1);
    }
    if (count != 4 || parts[0] != "scrypt") return false;
    ScryptCost cost;
    const std::string params(parts[1]);
    int consumed = 0;
    if (std::sscanf(params.c_str(), "ln=%u,r=%u,p=%u%n", &cost.log2_n, &cost.r, &cost.p,
                    &consumed) != 3 ||
        static_cast<std::size_t>(consumed) != params.size() || cost.log2_n < 1 ||
        cost.log2_n > kMaxLog2N || cost.r < 1 || cost.r > 32 || cost.p < 1 || cost.p > 16)
        return false;
    std::string salt, key;
    if (!from_base64url(parts[2], salt) || !from_base64url(parts[3], key) || salt.empty() ||
        key.size() != kKeyBytes)
        return false;
    return equal_secrets(scrypt(password, salt, cost), key);
}

}  // namespace edgeway::admin
