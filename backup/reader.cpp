#include "backup/reader.hpp"

#include "backup/encryption.hpp"
#include "backup/manifest.hpp"
#include "backup/sha256.hpp"
#include "backup/tar_reader.hpp"

#include <fmt/format.h>

#include <array>
#include <cstring>

namespace edgeway::backup {

namespace {

using Reason = BackupError::Reason;

constexpr std::uint8_t kGzipMagic[] = {0x1f, 0x8b};

// What the first bytes say the file is; throws when it is none of ours.
bool is_encrypted(Bytes prefix) {
    if (prefix.empty())
        throw BackupError(Reason::not_a_backup, "not an Edgeway backup: the file is empty");
    if (looks_encrypted(prefix)) return true;
    if (prefix.size() >= 2 && std::memcmp(prefix.data(), kGzipMagic, 2) == 0) return false;
    if (prefix.size() < kEncryptedMagic.size() &&
        std::memcmp(prefix.data(), kEncryptedMagic.data(), prefix.size()) == 0)
        throw BackupError(Reason::damaged, "damaged file: an encrypted backup cut short");
    throw BackupError(Reason::not_a_backup,
                      "not an Edgeway backup (neither an encrypted Edgeway backup nor a tar.gz "
                      "archive)");
}

// Opens the archive and reads its manifest, the first entry.
Manifest read_manifest(std::optional<TarReader>& tar, Source& source, bool encrypted) {
    std::optional<TarReader::Entry> first;
    try {
        tar.emplace(source);
        first = tar->next();
    } catch (const BackupError& e) {
        // Decrypted data that is not a tar.gz is damage; a plain file that is not one is
        // simply something else (or damaged right at its start).
        if (encrypted || e.reason() != Reason::damaged) throw;
        throw BackupError(Reason::not_a_backup,
                          std::string("not an Edgeway backup (gzip data, but not a tar archive, "
                                      "or damaged at its start): ") +
                              e.what());
    }
    if (!first || first->name != kManifestEntry || !first->regular ||
        first->size > kMaxManifestBytes)
        throw BackupError(
            encrypted ? Reason::damaged : Reason::not_a_backup,
            fmt::format("not an Edgeway backup: a tar.gz archive whose first entry "
                        "is {}, not {}",
                        first ? "\"" + first->name + "\"" : "missing", kManifestEntry));
    std::string text(first->size, '\0');
    std::size_t got = 0;
    while (got < text.size()) {
        const std::size_t n =
            tar->read({reinterpret_cast<std::uint8_t*>(text.data()) + got, text.size() - got});
        if (n == 0) break;
        got += n;
    }
    if (got != text.size())
        throw BackupError(Reason::damaged, "damaged file: the manifest is cut short");
    return manifest_from_json(text);
}

// Streams the current entry into `file` (0600), checking its size and SHA-256.
void extract_item(TarReader& tar, const ManifestItem& item, const std::filesystem::path& file) {
    AtomicFileSink out(file, 0600);
    Sha256 hash;
    std::array<std::uint8_t, 64 * 1024> buffer;
    std::uint64_t size = 0;
    while (const std::size_t n = tar.read(buffer)) {
        const Bytes piece(buffer.data(), n);
        hash.update(piece);
        out.write(piece);
        size += n;
    }
    if (size != item.size)
        throw BackupError(Reason::damaged,
                          fmt::format("damaged file: {} has {} bytes, the manifest says {}",
                                      item.entry, size, item.size));
    if (hash.hex() != item.sha256)
        throw BackupError(Reason::damaged,
                          fmt::format("damaged file: the SHA-256 of {} does not match the "
                                      "manifest (the file was altered or damaged)",
                                      item.entry));
    out.finish();
}

}  // namespace

ExtractedBackup extract_backup(Source& in, const std::optional<std::string>& passphrase,
                               const std::function<void(const Manifest&)>& check_manifest) {
    std::vector<std::uint8_t> prefix(kEncryptedMagic.size());
    prefix.resize(read_fully(in, prefix));
    ExtractedBackup backup;
    backup.encrypted = is_encrypted(prefix);
    if (backup.encrypted && !passphrase)
        throw BackupError(Reason::passphrase_needed,
                          "an encrypted Edgeway backup, and no passphrase was given");
    PrefixedSource whole(std::move(prefix), in);
    std::optional<DecryptingSource> decrypted;
    if (backup.encrypted) decrypted.emplace(*passphrase, whole);
    Source& source = decrypted ? static_cast<Source&>(*decrypted) : static_cast<Source&>(whole);

    std::optional<TarReader> archive;
    backup.manifest = read_manifest(archive, source, backup.encrypted);
    TarReader& tar = *archive;
    if (check_manifest) check_manifest(backup.manifest);

    backup.dir = std::make_unique<TempDirectory>();
    const auto items = backup.dir->path() / "items";
    std::filesystem::create_directory(items);
    for (std::size_t i = 0; i < backup.manifest.items.size(); ++i) {
        const ManifestItem& item = backup.manifest.items[i];
        const auto entry = tar.next();
        if (!entry)
            throw BackupError(
                Reason::damaged,
                fmt::format("damaged file: it ends before {} (cut short?)", item.entry));
        if (entry->name != item.entry || !entry->regular)
            throw BackupError(Reason::damaged,
                              fmt::format("damaged file: found entry \"{}\" where the manifest "
                                          "lists {}",
                                          entry->name, item.entry));
        backup.contents.push_back(items / std::to_string(i));
        extract_item(tar, item, backup.contents.back());
    }
    if (const auto extra = tar.next())
        throw BackupError(
            Reason::damaged,
            fmt::format("damaged file: entry \"{}\" is not in the manifest", extra->name));
    // Read to the very end: an encrypted file proves here that its last chunk is there.
    std::array<std::uint8_t, 4096> rest;
    while (source.read(rest) != 0) {
    }
    return backup;
}

}  // namespace edgeway::backup
