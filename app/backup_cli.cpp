// `edgeway backup` and `edgeway restore`: the options, which node they are about (its
// configuration file, or a state directory and a role), the passphrase, and the reports. The
// work itself is the backup library's.
#include "app/backup_cli.hpp"

#include "app/node_state.hpp"
#include "backup/backup.hpp"
#include "common/cli_exit.hpp"
#include "proxy/proxy.hpp"
#include "state/state.hpp"

#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <optional>

namespace edgeway::app {

namespace {

namespace fs = std::filesystem;

constexpr const char* kBackupUsage =
    R"(usage: edgeway backup FILE [--config FILE | --state-dir DIR --role edge|core]
                      [--passphrase-file F | --passphrase-stdin]

Writes a consistent snapshot of this node's state to FILE ("-": standard output) while the
node runs: its SQLite databases (through SQLite's online backup), its configuration file and
every certificate and key the configuration names, with a manifest of their paths, sizes and
SHA-256s. FILE is a tar.gz (mode 0600; `tar tzf FILE` lists it) or, with a passphrase,
encrypted (Argon2id, XChaCha20-Poly1305). The passphrase is the first line of F or of standard
input, at least 12 characters.

The node is the one its configuration describes: --config, else /etc/edgeway/edge.json or
/etc/edgeway/core.json (the one that exists, or the one of --role). With --state-dir, only the
databases in DIR are saved.

Exit codes: 0 written, 1 failed (no file written), 2 invalid usage.
)";

constexpr const char* kRestoreUsage =
    R"(usage: edgeway restore FILE [--config FILE | --state-dir DIR --role edge|core]
                       [--passphrase-file F | --passphrase-stdin] [--dry-run]

Restores a backup made by 'edgeway backup' (FILE "-": standard input). First it reads and
verifies all of it: the decryption, the manifest, the role (an edge's backup is refused on a
core), every SHA-256, every database (opened, checked and migrated to the current schema in a
temporary copy), the configuration, every certificate and key. If anything is wrong it says
what, exits with 1 and changes nothing. Then it saves what it will replace as a pre-restore
backup in the state directory and writes the databases (a running node uses them at once) and
the files (atomically; owner and mode kept). A failure halfway puts the saved state back.

With --config (default: /etc/edgeway/edge.json or core.json, as for backup), the backup's
configuration is written to that file and its certificates and keys to the paths it names;
with --state-dir, only the databases are restored, into DIR. --dry-run verifies and prints
the plan without writing anything.

Exit codes: 0 restored (with --dry-run: verified), 1 refused or failed, 2 invalid usage.
)";

// A message for the operator and the exit code that goes with it.
struct Failure {
    int code;
    std::string message;
};
struct HelpRequested {};

struct Options {
    std::string file;
    std::optional<fs::path> config, state_dir, passphrase_file;
    std::optional<std::string> role;
    bool passphrase_stdin = false, dry_run = false;
};

Options parse(const std::vector<std::string>& args, bool restore) {
    Options options;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& word = args[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= args.size()) throw Failure{kExitUsage, word + " needs a value"};
            return args[++i];
        };
        if (word == "--help" || word == "-h")
            throw HelpRequested{};
        else if (word == "--config")
            options.config = value();
        else if (word == "--state-dir")
            options.state_dir = value();
        else if (word == "--role")
            options.role = value();
        else if (word == "--passphrase-file")
            options.passphrase_file = value();
        else if (word == "--passphrase-stdin")
            options.passphrase_stdin = true;
        else if (word == "--dry-run" && restore)
            options.dry_run = true;
        else if (word.size() > 1 && word[0] == '-')
            throw Failure{kExitUsage, "unknown option " + word};
        else if (options.file.empty())
            options.file = word;
        else
            throw Failure{kExitUsage, "one FILE only (unexpected '" + word + "')"};
    }
    if (options.file.empty()) throw Failure{kExitUsage, "FILE is missing"};
    if (options.role && !is_role(*options.role))
        throw Failure{kExitUsage, "--role: expected edge or core, not '" + *options.role + "'"};
    if (options.config && options.state_dir)
        throw Failure{kExitUsage, "--config and --state-dir exclude each other"};
    if (options.state_dir && !options.role)
        throw Failure{kExitUsage, "--state-dir needs --role edge|core"};
    if (options.passphrase_file && options.passphrase_stdin)
        throw Failure{kExitUsage, "--passphrase-file and --passphrase-stdin exclude each other"};
    if (options.passphrase_stdin && options.file == "-")
        throw Failure{kExitUsage, "standard input cannot carry both the backup and the passphrase"};
    return options;
}

// The configuration file the options mean: --config, else the role's default, else the one
// default that exists.
fs::path config_file(const Options& options) {
    if (options.config) return *options.config;
    if (options.role) return default_config_file(*options.role);
    std::error_code ec;
    const bool edge = fs::exists(default_config_file("edge"), ec);
    const bool core = fs::exists(default_config_file("core"), ec);
    if (edge != core) return default_config_file(edge ? "edge" : "core");
    throw Failure{kExitUsage,
                  fmt::format("{} found: give --config FILE (or --state-dir DIR --role edge|core)",
                              edge ? "both /etc/edgeway/edge.json and core.json"
                                   : "no /etc/edgeway/edge.json or core.json")};
}

std::optional<std::string> passphrase(const Options& options, std::istream& in) {
    std::string line;
    if (options.passphrase_file) {
        std::ifstream file(*options.passphrase_file);
        if (!file)
            throw Failure{kExitUsage,
                          options.passphrase_file->string() + ": cannot read the passphrase file"};
        std::getline(file, line);
    } else if (options.passphrase_stdin) {
        std::getline(in, line);
    } else {
        return std::nullopt;
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) throw Failure{kExitUsage, "the passphrase is empty"};
    return line;
}

std::string size_text(std::uint64_t bytes) {
    if (bytes < 1024) return fmt::format("{} B", bytes);
    if (bytes < 1024 * 1024) return fmt::format("{:.1f} KiB", bytes / 1024.0);
    return fmt::format("{:.1f} MiB", bytes / (1024.0 * 1024.0));
}

// The etcd cluster a core's configuration keeps its shared state in, if any.
std::optional<state::EtcdOptions> cluster_store_of(const backup::NodeState& node) {
    if (node.role != "core" || !node.config_file) return std::nullopt;
    try {
        const auto core = proxy::load_core_config(*node.config_file);
        if (core.state.backend == state::Backend::etcd) return core.state.etcd;
    } catch (const proxy::ConfigError&) {
    }
    return std::nullopt;
}

int backup(const Options& options, std::istream& in, std::ostream& out) {
    const auto secret = passphrase(options, in);
    if (secret && secret->size() < backup::kMinPassphraseLength)
        throw Failure{kExitUsage, fmt::format("the passphrase is too short: it needs at least {} "
                                              "characters",
                                              backup::kMinPassphraseLength)};
    backup::NodeState node;
    if (options.state_dir) {
        node = backup::describe_node(*options.role, std::nullopt, {*options.state_dir, {}},
                                     database_kinds(*options.role));
    } else {
        const fs::path config = config_file(options);
        try {
            const std::string role = options.role ? *options.role : role_of(config);
            node = backup::describe_node(role, fs::absolute(config), layout_of(role, config),
                                         database_kinds(role));
        } catch (const proxy::ConfigError& e) {
            throw Failure{kExitUsage, e.what()};
        }
    }
    const bool to_stdout = options.file == "-";
    const auto report = to_stdout ? backup::write_backup(node, std::cout, secret)
                                  : backup::write_backup(node, options.file, secret);
    out << fmt::format("backup of {} '{}' written to {} ({}, {}):\n", node.role, node.hostname,
                       to_stdout ? "standard output" : options.file, size_text(report.bytes),
                       report.encrypted ? "encrypted" : "not encrypted");
    for (const auto& item : report.manifest.items)
        out << fmt::format("  {}: {}\n", backup::describe(item), size_text(item.size));
    if (node.databases.empty())
        out << fmt::format("note: no database found in {}\n", node.layout.state_directory.string());
    if (!report.encrypted)
        out << "note: the file is not encrypted and holds private keys and password hashes: keep "
               "it where only administrators can read it (or use --passphrase-file)\n";
    if (const auto etcd = cluster_store_of(node)) {
        const std::string endpoints = fmt::format("{}", fmt::join(etcd->endpoints, ","));
        out << fmt::format(
            "note: this core keeps the cluster's shared state (rules, web proxy settings, admin "
            "accounts, TURN credentials, audit) in {}, which this backup does not hold: back "
            "that up with etcd's own snapshot, 'etcdctl --endpoints={} snapshot save FILE' "
            "(restored with 'etcdutl snapshot restore')\n",
            state::describe(*etcd), endpoints);
    }
    return kExitOk;
}

int restore(const Options& options, std::istream& in, std::ostream& out) {
    const auto secret = passphrase(options, in);
    backup::RestoreTarget target;
    if (options.state_dir) {
        target.role = *options.role;
        target.state_directory = *options.state_dir;
    } else {
        const fs::path config = config_file(options);
        target.config_file = fs::absolute(config);
        // The node's current configuration may be what is broken: its role can come from --role.
        try {
            target.role = options.role ? *options.role : role_of(config);
        } catch (const proxy::ConfigError& e) {
            throw Failure{kExitUsage,
                          fmt::format("cannot tell this node's role from its configuration ({}): "
                                      "give --role edge|core",
                                      e.what())};
        }
        // Where the databases of a backup without configuration go.
        try {
            target.state_directory = layout_of(target.role, config).state_directory;
        } catch (const proxy::ConfigError&) {
            target.state_directory = default_state_directory(target.role);
        }
    }
    const std::string role = target.role;
    target.layout_of = [role](const fs::path& copy, const fs::path& destination) {
        return layout_of_copy(role, copy, destination);
    };
    target.kinds = database_kinds(role);

    std::optional<backup::Restore> restore;
    try {
        if (options.file == "-")
            restore.emplace(in, "standard input", secret, std::move(target));
        else
            restore.emplace(fs::path(options.file), secret, std::move(target));
    } catch (const backup::BackupError& e) {
        const bool needs_passphrase = e.reason() == backup::BackupError::Reason::passphrase_needed;
        throw Failure{
            kExitFailed,
            fmt::format(
                "{}{}; nothing was changed", e.what(),
                needs_passphrase ? " (give --passphrase-file F or --passphrase-stdin)" : "")};
    }

    const auto& manifest = restore->manifest();
    out << fmt::format(
        "{}: backup of {} '{}' made {} by edgeway {}, {}; verified: {} items, "
        "every SHA-256 matches, every database checked\n",
        options.file == "-" ? "standard input" : options.file, manifest.role, manifest.hostname,
        manifest.created_at, manifest.edgeway_version,
        restore->encrypted() ? "encrypted" : "not encrypted", manifest.items.size());
    if (secret && !restore->encrypted())
        out << "note: the file is not encrypted; the passphrase was not needed\n";
    std::size_t to_write = 0;
    for (const auto& planned : restore->plan()) {
        const bool writes = planned.action == backup::PlannedItem::Action::create ||
                            planned.action == backup::PlannedItem::Action::replace;
        to_write += writes;
        std::string line = fmt::format("  {:<9} {}", backup::action_name(planned.action),
                                       backup::describe(planned.item));
        if (planned.destination != planned.item.path) line += " -> " + planned.destination.string();
        if (!planned.detail.empty()) line += ": " + planned.detail;
        out << line << "\n";
    }
    if (options.dry_run) {
        out << fmt::format("dry run: {} item{} would be written; nothing was changed\n", to_write,
                           to_write == 1 ? "" : "s");
        return kExitOk;
    }
    const fs::path saved = restore->apply();
    out << fmt::format("the state it replaced is saved in {}\n", saved.string())
        << fmt::format(
               "restored {} item{}. A running {} uses the restored databases at once; "
               "'systemctl reload edgeway-{}' (SIGHUP) applies restored certificates and "
               "configuration.\n",
               to_write, to_write == 1 ? "" : "s", role, role);
    return kExitOk;
}

int run(const std::string& command, const char* usage, const std::vector<std::string>& args,
        std::istream& in, std::ostream& out, std::ostream& err) {
    const std::string name = "edgeway " + command;
    const bool restore_command = command == "restore";
    try {
        const Options options = parse(args, restore_command);
        if (restore_command) return restore(options, in, out);
        // With the backup on standard output, the report goes to standard error.
        return backup(options, in, options.file == "-" ? err : out);
    } catch (const HelpRequested&) {
        out << usage;
        return kExitOk;
    } catch (const Failure& failure) {
        err << name << ": " << failure.message;
        if (failure.code == kExitUsage) err << " (see '" << name << " --help')";
        err << "\n";
        return failure.code;
    } catch (const std::exception& e) {
        err << name << ": " << e.what() << "\n";
        return kExitFailed;
    }
}

}  // namespace

int run_backup_command(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                       std::ostream& err) {
    return run("backup", kBackupUsage, args, in, out, err);
}

int run_restore_command(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                        std::ostream& err) {
    return run("restore", kRestoreUsage, args, in, out, err);
}

}  // namespace edgeway::app
