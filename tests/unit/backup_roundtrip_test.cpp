// The backup library both ways: plain and encrypted backups of a node (a real rule database, a
// configuration, a certificate and its key) restored onto a fresh node and over a live one,
// what a running reader of the database sees, and the pre-restore backup that undoes a restore.
#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/unit/backup_node.hpp"

#include "allowlist/allowlist.hpp"
#include "backup/backup.hpp"
#include "tls/tls.hpp"

#include <sys/stat.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <sstream>

using namespace edgeway;
using namespace edgeway::test;
using Catch::Contains;
using Catch::StartsWith;
namespace fs = std::filesystem;
using Action = backup::PlannedItem::Action;

namespace {

unsigned mode_of(const fs::path& file) {
    struct stat info {};
    ::stat(file.c_str(), &info);
    return info.st_mode & 07777;
}

const backup::PlannedItem& planned(const backup::Restore& restore, backup::ItemKind kind) {
    for (const auto& item : restore.plan())
        if (item.item.kind == kind) return item;
    throw std::runtime_error("no such item in the plan");
}

}  // namespace

TEST_CASE(
    "a plain backup is a tar.gz that restores a fresh node: database, configuration, "
    "certificate and key (0600)",
    "[backup]") {
    TempDir dir("edgeway-backup");
    BackupNode node(dir / "node", {"/a/", "/b/", "/c/"});
    const auto report = backup::write_backup(node.state(), dir / "node.backup", std::nullopt);
    CHECK_FALSE(report.encrypted);
    CHECK(mode_of(dir / "node.backup") == 0600);
    REQUIRE(report.manifest.items.size() == 4);  // database, configuration, certificate, key
    CHECK(report.manifest.role == "core");
    CHECK(report.manifest.format_version == backup::kFormatVersion);

    // Operators can list it with tar; the manifest comes first.
    const auto listed =
        run_program("/usr/bin/tar", {"-tzf", (dir / "node.backup").string()}, dir / "tar.log", 10s);
    REQUIRE(listed.exit_code == 0);
    CHECK_THAT(listed.output, StartsWith("manifest.json\ndatabases/allowlist.db\nfiles/"));

    // A node that has nothing yet: every item is created where its configuration says
    // (relative paths count from the configuration's new place).
    fs::create_directories(dir / "fresh");
    backup::RestoreTarget target = node.target();
    target.config_file = dir / "fresh" / "node.json";
    backup::Restore restore(dir / "node.backup", std::nullopt, target);
    for (const auto& item : restore.plan()) CHECK(item.action == Action::create);
    CHECK(planned(restore, backup::ItemKind::database).detail == "3 rules");
    CHECK(planned(restore, backup::ItemKind::private_key).destination ==
          dir / "fresh" / "pki" / "ca.key");
    const fs::path saved = restore.apply();
    CHECK(saved.parent_path() == dir / "fresh" / "state");

    CHECK(rule_paths(dir / "fresh" / "state" / "allowlist.db") ==
          std::vector<std::string>{"/a/", "/b/", "/c/"});
    CHECK(read_file(dir / "fresh" / "node.json") == read_file(node.config()));
    CHECK(read_file(dir / "fresh" / "pki" / "ca.pem") ==
          read_file(dir / "node" / "pki" / "ca.pem"));
    CHECK(read_file(dir / "fresh" / "pki" / "ca.key") ==
          read_file(dir / "node" / "pki" / "ca.key"));
    CHECK(mode_of(dir / "fresh" / "pki" / "ca.key") == 0600);
    CHECK(mode_of(dir / "fresh" / "state" / "allowlist.db") == 0600);
}

TEST_CASE(
    "an encrypted backup restores over a live node: a reader of the database sees the "
    "change, and the pre-restore backup undoes it",
    "[backup]") {
    TempDir dir("edgeway-backup");
    BackupNode node(dir / "node", {"/a/", "/b/"});
    const std::string passphrase = "correct horse battery staple";
    const auto started = std::chrono::steady_clock::now();
    const auto report = backup::write_backup(node.state(), dir / "node.backup", passphrase);
    const auto took = std::chrono::steady_clock::now() - started;
    INFO("encrypted backup took "
         << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
    CHECK(took < 1s);
    CHECK(report.encrypted);
    CHECK_THAT(read_file(dir / "node.backup"), StartsWith("Edgeway encrypted backup\n"));
    const std::string original_certificate = read_file(dir / "node" / "pki" / "ca.pem");

    // The node changes after the backup: rules, and a new certificate and key.
    node.add_rule("/c/");
    node.remove_rule("/a/");
    tls::write_ca(dir / "node" / "pki" / "ca.pem", dir / "node" / "pki" / "ca.key", "Replaced CA");
    const std::string replaced_certificate = read_file(dir / "node" / "pki" / "ca.pem");
    allowlist::RuleStore reader(node.database());  // as the running core holds it open
    const std::uint64_t version_before = reader.version();
    reader.changed_elsewhere();

    backup::Restore restore(dir / "node.backup", passphrase, node.target());
    CHECK(restore.encrypted());
    CHECK(planned(restore, backup::ItemKind::database).action == Action::replace);
    CHECK(planned(restore, backup::ItemKind::config).action == Action::unchanged);
    CHECK(planned(restore, backup::ItemKind::certificate).action == Action::replace);
    const fs::path saved = restore.apply();

    CHECK(reader.changed_elsewhere());
    CHECK(rule_paths(node.database()) == std::vector<std::string>{"/a/", "/b/"});
    // Numbered above the live rules, so a running core publishes them as a new version.
    CHECK(reader.version() > version_before);
    CHECK(reader.audit(1).at(0).action == "state restored");
    CHECK(read_file(dir / "node" / "pki" / "ca.pem") == original_certificate);
    CHECK(mode_of(dir / "node" / "pki" / "ca.key") == 0600);

    // The pre-restore backup is an ordinary backup of what was replaced.
    backup::Restore undo(saved, std::nullopt, node.target());
    undo.apply();
    CHECK(rule_paths(node.database()) == std::vector<std::string>{"/b/", "/c/"});
    CHECK(read_file(dir / "node" / "pki" / "ca.pem") == replaced_certificate);
}

TEST_CASE(
    "a backup written to a stream restores from a stream, and --state-dir restores the "
    "databases only",
    "[backup]") {
    TempDir dir("edgeway-backup");
    BackupNode node(dir / "node", {"/only/"});
    std::ostringstream out;
    backup::write_backup(node.state(), out, std::nullopt);

    backup::RestoreTarget target;
    target.role = "core";
    target.state_directory = dir / "elsewhere";
    target.kinds = test_kinds();
    std::istringstream in(out.str());
    backup::Restore restore(in, "standard input", std::nullopt, target);
    CHECK(restore.manifest().hostname != "");
    for (const auto& item : restore.plan())
        CHECK(item.action ==
              (item.item.kind == backup::ItemKind::database ? Action::create : Action::skip));
    restore.apply();
    CHECK(rule_paths(dir / "elsewhere" / "allowlist.db") == std::vector<std::string>{"/only/"});
    CHECK_FALSE(fs::exists(dir / "elsewhere" / "node.json"));
}
