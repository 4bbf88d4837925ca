// The manifest: the archive's first entry, manifest.json, saying what the backup holds. Its
// JSON form (format 1):
//   {"format": "edgeway-backup", "format_version": 1, "edgeway_version": "0.1.0",
//    "role": "core", "hostname": "core1", "created_at": "2026-11-25T10:41:03Z",
//    "state": "local",
//    "items": [{"entry": "databases/allowlist.db", "kind": "database",
//               "database": "rule database", "path": "/var/lib/edgeway/core/allowlist.db",
//               "size": 28672, "sha256": "...", "mode": "0600"},
//              {"entry": "files/etc/edgeway/tls/core.key", "kind": "private key",
//               "fields": ["link_tls.private_key"], "path": "/etc/edgeway/tls/core.key", ...}]}
// "fields" names the configuration fields that name a file; it is empty for the configuration
// file itself.
#pragma once

#include "backup/backup.hpp"

#include <string>

namespace edgeway::backup {

constexpr const char* kManifestEntry = "manifest.json";
// A manifest larger than this is not one of ours.
constexpr std::size_t kMaxManifestBytes = 1 << 20;

std::string manifest_to_json(const Manifest& manifest);
// Throws BackupError: not_a_backup (not our format), newer_format, damaged (a field missing or
// invalid, named).
Manifest manifest_from_json(const std::string& text);

// The archive entry of an item: "databases/allowlist.db", "files/etc/edgeway/core.json".
std::string entry_name(const ManifestItem& item);

}  // namespace edgeway::backup
