// Password hashes: scrypt (OpenSSL 3's "SCRYPT" KDF) with a random 16-byte salt and the cost
// parameters stored beside the hash, so they can be raised later without breaking old hashes:
//   scrypt$ln=15,r=8,p=1$<salt, base64url>$<32-byte key, base64url>
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace edgeway::admin {

struct ScryptCost {
    unsigned log2_n = 15;  // N = 32768: ~32 MiB and ~0.1 s per hash on this class of machine
    std::uint32_t r = 8;
    std::uint32_t p = 1;
};

std::string hash_password(std::string_view password, ScryptCost cost = {});
// False for a wrong password and for a stored text that is not a hash of this format.
bool verify_password(std::string_view password, std::string_view stored);

}  // namespace edgeway::admin
