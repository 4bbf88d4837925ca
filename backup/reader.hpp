// Reads a backup file whole into a private temporary directory: recognises the format
// (encrypted, plain tar.gz, or not ours), decrypts, reads the manifest and checks every item's
// size and SHA-256 against it. Nothing outside the temporary directory is touched.
#pragma once

#include "backup/backup.hpp"
#include "backup/byte_stream.hpp"
#include "backup/temp_directory.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace edgeway::backup {

struct ExtractedBackup {
    Manifest manifest;
    bool encrypted = false;
    std::unique_ptr<TempDirectory> dir;
    std::vector<std::filesystem::path> contents;  // each manifest item's bytes, in dir
};

// `check_manifest` runs as soon as the manifest is read (say, the role), before the items are.
// Throws BackupError: not_a_backup, damaged, passphrase_needed, wrong_passphrase,
// newer_format, or what check_manifest throws.
ExtractedBackup extract_backup(Source& in, const std::optional<std::string>& passphrase,
                               const std::function<void(const Manifest&)>& check_manifest);

}  // namespace edgeway::backup
