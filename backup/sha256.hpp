// SHA-256 over data that arrives in pieces (OpenSSL's EVP digest).
#pragma once

#include "backup/byte_stream.hpp"

#include <memory>
#include <string>

namespace edgeway::backup {

class Sha256 {
  public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;

    void update(Bytes data);
    std::string hex();  // lowercase; once, at the end

  private:
    struct Context;
    std::unique_ptr<Context> context_;
};

std::string sha256_hex(Bytes data);

}  // namespace edgeway::backup
