// `edgeway backup`: every item is read first (databases through the online backup API), so the
// manifest, which comes first in the archive, can carry each one's size and SHA-256; then the
// archive is written through the encryption (when asked) into the file.
#include "backup/backup.hpp"

#include "backup/encryption.hpp"
#include "backup/files.hpp"
#include "backup/manifest.hpp"
#include "backup/sha256.hpp"
#include "backup/sqlite_copy.hpp"
#include "backup/tar_writer.hpp"
#include "common/sqlite.hpp"

#include <fmt/format.h>

#include <unistd.h>

#include <algorithm>
#include <climits>

namespace edgeway::backup {

namespace {

using Reason = BackupError::Reason;

std::string this_hostname() {
    char name[HOST_NAME_MAX + 1] = {};
    if (::gethostname(name, sizeof name - 1) != 0) return "unknown";
    return name;
}

struct Snapshot {
    Manifest manifest;
    std::vector<std::vector<std::uint8_t>> contents;  // in manifest order

    void add(ManifestItem item, std::vector<std::uint8_t> bytes) {
        item.size = bytes.size();
        item.sha256 = sha256_hex(bytes);
        item.entry = entry_name(item);
        manifest.items.push_back(std::move(item));
        contents.push_back(std::move(bytes));
    }
};

Snapshot take_snapshot(const NodeState& node) {
    Snapshot snapshot;
    Manifest& manifest = snapshot.manifest;
    manifest.edgeway_version = EDGEWAY_VERSION;
    manifest.role = node.role;
    manifest.hostname = node.hostname;
    manifest.created_at = sqlite::now_utc();
    for (const auto& database : node.databases) {
        ManifestItem item;
        item.kind = ItemKind::database;
        item.database = database.kind.name;
        item.path = std::filesystem::absolute(database.path).lexically_normal();
        item.mode = file_mode(database.path).value_or(0600);
        snapshot.add(std::move(item), snapshot_database(database.path));
    }
    auto add_file = [&](ItemKind kind, std::vector<std::string> fields,
                        const std::filesystem::path& path) {
        ManifestItem item;
        item.kind = kind;
        item.fields = std::move(fields);
        item.path = std::filesystem::absolute(path).lexically_normal();
        item.mode = file_mode(path).value_or(0600);
        snapshot.add(std::move(item), read_whole_file(path));
    };
    if (node.config_file) add_file(ItemKind::config, {}, *node.config_file);
    for (const auto& file : node.layout.files) add_file(file.kind, file.fields, file.path);
    return snapshot;
}

template <typename FileSink>
BackupReport write_to(const NodeState& node, FileSink& file,
                      const std::optional<std::string>& passphrase) {
    if (passphrase && passphrase->size() < kMinPassphraseLength)
        throw BackupError(Reason::invalid_content,
                          fmt::format("the passphrase is too short: it needs at least {} "
                                      "characters",
                                      kMinPassphraseLength));
    Snapshot snapshot = take_snapshot(node);
    std::optional<EncryptingSink> encrypting;
    if (passphrase) encrypting.emplace(*passphrase, file);
    Sink& sink = encrypting ? static_cast<Sink&>(*encrypting) : static_cast<Sink&>(file);
    TarWriter tar(sink);
    const std::string manifest = manifest_to_json(snapshot.manifest);
    tar.add(kManifestEntry,
            {reinterpret_cast<const std::uint8_t*>(manifest.data()), manifest.size()});
    for (std::size_t i = 0; i < snapshot.contents.size(); ++i)
        tar.add(snapshot.manifest.items[i].entry, snapshot.contents[i]);
    tar.finish();
    return {std::move(snapshot.manifest), file.bytes(), passphrase.has_value()};
}

}  // namespace

NodeState describe_node(std::string role, std::optional<std::filesystem::path> config_file,
                        Layout layout, const std::vector<DatabaseKind>& kinds) {
    NodeState node;
    node.role = std::move(role);
    node.hostname = this_hostname();
    node.config_file = std::move(config_file);
    node.layout.state_directory = layout.state_directory;
    for (const auto& kind : kinds) {
        const auto path = layout.state_directory / kind.file_name;
        std::error_code ec;
        if (std::filesystem::exists(path, ec)) node.databases.push_back({kind, path});
    }
    // One item per path: a file named by two fields (the admin listener using the 443
    // certificate) is saved once, with both fields; a private key stays one.
    for (auto& file : layout.files) {
        file.path = std::filesystem::absolute(file.path).lexically_normal();
        auto same = std::find_if(node.layout.files.begin(), node.layout.files.end(),
                                 [&](const FileItem& known) { return known.path == file.path; });
        if (same == node.layout.files.end()) {
            node.layout.files.push_back(std::move(file));
            continue;
        }
        same->fields.insert(same->fields.end(), file.fields.begin(), file.fields.end());
        if (file.kind == ItemKind::private_key) same->kind = ItemKind::private_key;
    }
    return node;
}

BackupReport write_backup(const NodeState& node, const std::filesystem::path& file,
                          const std::optional<std::string>& passphrase) {
    AtomicFileSink sink(file, 0600);
    return write_to(node, sink, passphrase);
}

BackupReport write_backup(const NodeState& node, std::ostream& out,
                          const std::optional<std::string>& passphrase) {
    StreamSink sink(out);
    return write_to(node, sink, passphrase);
}

}  // namespace edgeway::backup
