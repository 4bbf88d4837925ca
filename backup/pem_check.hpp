// A restored certificate or key must at least be what its kind says: PEM that OpenSSL reads.
#pragma once

#include "backup/backup.hpp"
#include "backup/byte_stream.hpp"

#include <string>

namespace edgeway::backup {

// Certificates: at least one PEM certificate; private keys: a PEM private key. Other kinds
// pass. Throws BackupError (invalid_content) starting with `name`.
void check_pem(ItemKind kind, Bytes content, const std::string& name);

}  // namespace edgeway::backup
