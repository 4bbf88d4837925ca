// Public interface of the backup library. `edgeway backup` writes a consistent snapshot of a
// node's state while it runs: each SQLite database copied through SQLite's online backup API,
// the configuration file and every certificate and key it names, and a manifest (JSON) with
// each item's kind, path, size and SHA-256, all in a tar.gz, optionally encrypted with a
// passphrase. `edgeway restore` reads and verifies the whole file before it changes anything.
//
// The library knows nothing of edge or core configurations: the binary reads the node's
// configuration and hands over plain lists (its databases with a function that checks one, the
// files its configuration names). Everything else in backup/ is private to it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace edgeway::backup {

// The file format this edgeway writes, and the newest it reads.
constexpr int kFormatVersion = 1;
constexpr const char* kFormatName = "edgeway-backup";

// Why a backup or a restore failed; what() says it for the operator, naming the file or item.
class BackupError : public std::runtime_error {
  public:
    enum class Reason {
        io,                 // a file could not be read or written
        not_a_backup,       // empty, random bytes, a tar.gz that is not ours...
        damaged,            // ours, but cut short or altered
        passphrase_needed,  // encrypted, and no passphrase was given
        wrong_passphrase,   // "wrong passphrase or damaged file"
        newer_format,       // written by a newer edgeway
        wrong_role,         // an edge's backup on a core, or the reverse
        invalid_content,    // a database or file that does not check out
        restore_failed,     // writing failed halfway; the previous state was put back
    };
    BackupError(Reason reason, const std::string& message)
        : std::runtime_error(message), reason_(reason) {}
    Reason reason() const { return reason_; }

  private:
    Reason reason_;
};

enum class ItemKind { database, config, certificate, private_key };
std::string_view kind_name(ItemKind kind);  // "database", "config", "certificate", "private key"

// A kind of database a node keeps, and how to check one.
struct DatabaseKind {
    std::string name;       // "rule database": in the manifest and in messages
    std::string file_name;  // "allowlist.db": its name in the state directory
    // Opens the file, checks that it is a database of this kind, migrates it to the current
    // schema and returns a one-line summary ("12 editable rules, web proxy enabled"). Throws a
    // std::exception whose what() says what is wrong.
    std::function<std::string(const std::filesystem::path& file)> check;
    // Optional. Called on the checked copy just before it replaces the live database (which
    // may not exist), e.g. to number its rules above the live ones and audit the restore.
    // `note` describes the backup ("restored from backup of core 'host' made 2026-...").
    std::function<void(const std::filesystem::path& copy, const std::filesystem::path& live,
                       const std::string& note)>
        prepare;
};

// A plain file that a configuration names (or the configuration file itself).
struct FileItem {
    ItemKind kind = ItemKind::certificate;  // config, certificate or private_key
    std::vector<std::string> fields;        // the fields naming it: "link_tls.private_key"
    std::filesystem::path path;             // absolute
};

// What a configuration file names: the state directory and the files, without itself.
struct Layout {
    std::filesystem::path state_directory;
    std::vector<FileItem> files;
};

// A node's state as local files: the SQLite databases in its state directory, its
// configuration file and the files that names. (A node whose state lives elsewhere, a
// cluster's etcd, needs a source of its own: the manifest's "state" field says "local" and a
// restore refuses any other.)
struct NodeState {
    std::string role;  // "edge" | "core"
    std::string hostname;
    std::optional<std::filesystem::path> config_file;  // absent: the databases only
    Layout layout;
    struct Database {
        DatabaseKind kind;
        std::filesystem::path path;
    };
    std::vector<Database> databases;
};

// The node's state: the databases of `kinds` present in layout.state_directory, the
// configuration file (when given) and the files the layout names (one item per path, with
// every field that names it). Hostname: this machine's.
NodeState describe_node(std::string role, std::optional<std::filesystem::path> config_file,
                        Layout layout, const std::vector<DatabaseKind>& kinds);

// One entry of the manifest.
struct ManifestItem {
    ItemKind kind = ItemKind::database;
    std::string database;             // databases: the kind's name ("rule database")
    std::vector<std::string> fields;  // files: the configuration fields naming it
    std::filesystem::path path;       // where it was, absolute
    std::uint64_t size = 0;
    std::string sha256;  // lowercase hex
    unsigned mode = 0600;
    std::string entry;  // its name in the tar archive
};

// "rule database /var/lib/edgeway/core/allowlist.db",
// "private key /etc/edgeway/tls/core.key (link_tls.private_key)".
std::string describe(const ManifestItem& item);

struct Manifest {
    int format_version = kFormatVersion;
    std::string edgeway_version, role, hostname, created_at, state = "local";
    std::vector<ManifestItem> items;
};

struct BackupReport {
    Manifest manifest;
    std::uint64_t bytes = 0;  // the whole file
    bool encrypted = false;
};

// Minimum passphrase length for a new encrypted backup.
constexpr std::size_t kMinPassphraseLength = 12;

// Writes the backup to `file` (a temporary name in its directory, then renamed; mode 0600).
// With a passphrase the archive is encrypted (Argon2id key, XChaCha20-Poly1305 stream).
// Throws BackupError naming the item or file.
BackupReport write_backup(const NodeState& node, const std::filesystem::path& file,
                          const std::optional<std::string>& passphrase);
// The same to a stream (standard output).
BackupReport write_backup(const NodeState& node, std::ostream& out,
                          const std::optional<std::string>& passphrase);

// Where a restore puts things, for the node it runs on.
struct RestoreTarget {
    std::string role;  // this node's: a backup of another role is refused
    // Given: the backup's configuration goes to this file, the files it names to the paths it
    // names, and the databases to its state directory (a backup without a configuration: to
    // state_directory below). Absent: only the databases are restored, into state_directory.
    std::optional<std::filesystem::path> config_file;
    std::filesystem::path state_directory;
    // Reads a configuration (a verified copy at `copy`, to be installed as `destination`;
    // relative paths count from destination's directory) and returns what it names. Throws a
    // std::exception naming the field when the configuration cannot be used.
    std::function<Layout(const std::filesystem::path& copy,
                         const std::filesystem::path& destination)>
        layout_of;
    std::vector<DatabaseKind> kinds;  // the kinds this role keeps
};

struct PlannedItem {
    ManifestItem item;
    std::filesystem::path destination;
    enum class Action { create, replace, unchanged, skip } action = Action::create;
    std::string detail;  // a database's summary, or why an item is skipped
};
std::string_view action_name(PlannedItem::Action action);

// A verified backup and what restoring it would do.
class Restore {
  public:
    // Reads the whole backup into a private temporary directory and verifies it: the
    // encryption (when encrypted), the archive, the manifest's format and version, the role,
    // every SHA-256, every database (checked and migrated in its copy) and the configuration.
    // Throws BackupError saying what is wrong; changes nothing on the node.
    Restore(const std::filesystem::path& file, const std::optional<std::string>& passphrase,
            RestoreTarget target);
    Restore(std::istream& in, const std::string& name, const std::optional<std::string>& passphrase,
            RestoreTarget target);
    ~Restore();
    Restore(const Restore&) = delete;
    Restore& operator=(const Restore&) = delete;

    const Manifest& manifest() const;
    bool encrypted() const;
    const std::vector<PlannedItem>& plan() const;

    // Saves what the plan replaces as a backup in the state directory (its path is returned),
    // then writes each item: databases through SQLite's online backup API (a running node sees
    // the change as any other commit), files atomically (temporary file, then rename; owner and
    // mode kept, new private keys 0600). On a failure it puts the saved state back and throws
    // BackupError (restore_failed) saying what failed and that the previous state is back.
    std::filesystem::path apply();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace edgeway::backup
