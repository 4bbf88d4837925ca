// What a restore refuses, and that it then changes nothing: damaged and cut-short files (plain
// and encrypted), files that are not backups, a wrong or missing passphrase, another role's
// backup, a newer format, databases that are not SQLite or not ours; and a failure halfway
// through writing, after which the node is put back as it was.
#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/unit/backup_node.hpp"

#include "backup/backup.hpp"

#include <sqlite3.h>
#include <catch2/catch.hpp>

#include <fstream>
#include <random>

using namespace edgeway;
using namespace edgeway::test;
using Catch::Contains;
using Reason = backup::BackupError::Reason;
namespace fs = std::filesystem;

namespace {

const std::string kPassphrase = "correct horse battery staple";

void write_bytes(const fs::path& file, const std::string& bytes) {
    std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
}

// Restoring `file` onto the node fails with `reason` and a message containing `words`, and
// leaves every file of the node as it was.
void require_refused(const BackupNode& node, const fs::path& file, Reason reason,
                     const std::string& words,
                     const std::optional<std::string>& passphrase = std::nullopt) {
    const auto before = snapshot_tree(node.dir());
    try {
        backup::Restore restore(file, passphrase, node.target());
        restore.apply();
        FAIL("the restore of " << file << " was not refused");
    } catch (const backup::BackupError& e) {
        INFO(e.what());
        CHECK(e.reason() == reason);
        CHECK_THAT(e.what(), Contains(words));
        CHECK_THAT(e.what(), Contains(file.string()));  // the file is named
    }
    CHECK(snapshot_tree(node.dir()) == before);
}

}  // namespace

TEST_CASE("damaged, cut short and foreign files are refused and nothing is written", "[backup]") {
    TempDir dir("edgeway-backup");
    // A node with enough rules that the middle of its backup is database pages.
    std::vector<std::string> paths;
    for (int i = 0; i < 200; ++i) paths.push_back("/path-" + std::to_string(i) + "/");
    BackupNode node(dir / "node", paths);
    // Made when a section needs one (the key derivation takes its time), before the node moves
    // on, so that a restore that went through would show.
    auto backup_bytes = [&](const std::optional<std::string>& passphrase) {
        backup::write_backup(node.state(), dir / "made.backup", passphrase);
        node.add_rule("/after-the-backup/");
        return read_file(dir / "made.backup");
    };

    SECTION("a byte flipped in the middle of a plain backup") {
        std::string bytes = backup_bytes(std::nullopt);
        bytes[bytes.size() / 2] ^= 0x20;
        write_bytes(dir / "bad", bytes);
        require_refused(node, dir / "bad", Reason::damaged, "damaged");
    }
    SECTION("a byte flipped in the middle of an encrypted backup") {
        std::string bytes = backup_bytes(kPassphrase);
        bytes[bytes.size() / 2] ^= 0x20;
        write_bytes(dir / "bad", bytes);
        require_refused(node, dir / "bad", Reason::damaged, "fails its authentication",
                        kPassphrase);
    }
    SECTION("a plain backup cut short") {
        const std::string plain = backup_bytes(std::nullopt);
        write_bytes(dir / "bad", plain.substr(0, plain.size() * 2 / 3));
        require_refused(node, dir / "bad", Reason::damaged, "damaged");
    }
    SECTION("an encrypted backup cut short, even at a chunk's end") {
        const std::string sealed = backup_bytes(kPassphrase);
        write_bytes(dir / "bad", sealed.substr(0, sealed.size() - 1));
        require_refused(node, dir / "bad", Reason::damaged, "cut short", kPassphrase);
        // Without its final chunk (the last 4 + 17 bytes: an empty chunk tagged final).
        write_bytes(dir / "bad", sealed.substr(0, sealed.size() - 21));
        require_refused(node, dir / "bad", Reason::damaged, "before the encrypted data's last",
                        kPassphrase);
    }
    SECTION("bytes after the end of an encrypted backup") {
        write_bytes(dir / "bad", backup_bytes(kPassphrase) + "x");
        require_refused(node, dir / "bad", Reason::damaged, "after the end", kPassphrase);
    }
    SECTION("random bytes") {
        std::mt19937 random(8);
        std::string bytes(4096, '\0');
        for (auto& c : bytes) c = static_cast<char>(random());
        bytes[0] = 'x';  // not by chance a gzip header
        write_bytes(dir / "bad", bytes);
        require_refused(node, dir / "bad", Reason::not_a_backup, "not an Edgeway backup");
    }
    SECTION("an empty file") {
        write_bytes(dir / "bad", "");
        require_refused(node, dir / "bad", Reason::not_a_backup, "empty");
    }
    SECTION("a tar.gz that is not a backup") {
        const auto packed =
            run_program("/usr/bin/tar",
                        {"-czf", (dir / "bad").string(), "-C", node.dir().string(), "node.json"},
                        dir / "tar.log", 10s);
        REQUIRE(packed.exit_code == 0);
        require_refused(node, dir / "bad", Reason::not_a_backup,
                        "first entry is \"node.json\", not manifest.json");
    }
    SECTION("gzip data that is not a tar archive") {
        const auto packed = run_program(
            "/bin/sh", {"-c", "gzip -c " + node.config().string() + " > " + (dir / "bad").string()},
            dir / "gzip.log", 10s);
        REQUIRE(packed.exit_code == 0);
        require_refused(node, dir / "bad", Reason::not_a_backup, "not an Edgeway backup");
    }
}

TEST_CASE("an encrypted backup needs the right passphrase", "[backup]") {
    TempDir dir("edgeway-backup");
    BackupNode node(dir / "node", {"/a/"});
    backup::write_backup(node.state(), dir / "sealed.backup", kPassphrase);
    node.add_rule("/b/");
    require_refused(node, dir / "sealed.backup", Reason::wrong_passphrase,
                    "wrong passphrase or damaged file", "not the passphrase");
    require_refused(node, dir / "sealed.backup", Reason::passphrase_needed, "no passphrase");
    CHECK_THROWS_WITH(backup::write_backup(node.state(), dir / "short.backup", "short"),
                      Contains("at least 12 characters"));
    CHECK_FALSE(fs::exists(dir / "short.backup"));
}

TEST_CASE("a backup of another role, or of a newer format, is refused", "[backup]") {
    TempDir dir("edgeway-backup");
    BackupNode edge(dir / "edge", {}, nlohmann::json::object(), "edge");
    BackupNode core(dir / "core", {"/a/"});
    backup::write_backup(edge.state(), dir / "edge.backup", std::nullopt);
    require_refused(core, dir / "edge.backup", Reason::wrong_role, "a backup of an edge ('");
    require_refused(core, dir / "edge.backup", Reason::wrong_role,
                    "but this node is a core: restore it on an edge");

    backup::write_backup(core.state(), dir / "core.backup", std::nullopt);
    repack(dir / "core.backup", dir / "newer.backup",
           [](nlohmann::json& manifest, const fs::path&) { manifest["format_version"] = 2; });
    // The version in the message is the writer's, whatever this build's is.
    require_refused(core, dir / "newer.backup", Reason::newer_format,
                    "written by a newer edgeway (");
    require_refused(core, dir / "newer.backup", Reason::newer_format, ", backup format version 2)");
    repack(dir / "core.backup", dir / "other.backup",
           [](nlohmann::json& manifest, const fs::path&) { manifest["format"] = "something"; });
    require_refused(core, dir / "other.backup", Reason::not_a_backup, "of another format");
}

TEST_CASE("a database that is not SQLite, or not ours, is refused at backup and at restore",
          "[backup]") {
    TempDir dir("edgeway-backup");
    BackupNode node(dir / "node", {"/a/"});
    backup::write_backup(node.state(), dir / "node.backup", std::nullopt);
    node.add_rule("/b/");

    SECTION("not an SQLite file") {
        repack(dir / "node.backup", dir / "bad.backup",
               [](nlohmann::json&, const fs::path& staging) {
                   write_bytes(staging / "databases" / "allowlist.db", "not a database at all");
               });
        require_refused(node, dir / "bad.backup", Reason::invalid_content,
                        "databases/allowlist.db: not an SQLite database");
    }
    SECTION("an SQLite database of something else") {
        repack(dir / "node.backup", dir / "bad.backup",
               [](nlohmann::json&, const fs::path& staging) {
                   const auto file = staging / "databases" / "allowlist.db";
                   fs::remove(file);
                   sqlite3* db = nullptr;
                   sqlite3_open(file.c_str(), &db);
                   sqlite3_exec(db, "CREATE TABLE photos (id INTEGER, data BLOB)", nullptr, nullptr,
                                nullptr);
                   sqlite3_close(db);
               });
        require_refused(node, dir / "bad.backup", Reason::invalid_content,
                        "not an edgeway rule database");
    }
    SECTION("a certificate that is not one") {
        repack(dir / "node.backup", dir / "bad.backup",
               [](nlohmann::json& manifest, const fs::path& staging) {
                   for (const auto& item : manifest["items"])
                       if (item["kind"] == "certificate")
                           write_bytes(staging / item["entry"].get<std::string>(), "garbage");
               });
        require_refused(node, dir / "bad.backup", Reason::invalid_content, "not a PEM certificate");
    }
    SECTION("a manifest pointing outside the node") {
        repack(dir / "node.backup", dir / "bad.backup",
               [](nlohmann::json& manifest, const fs::path&) {
                   manifest["items"][0]["path"] = "/var/lib/../../etc/passwd";
               });
        require_refused(node, dir / "bad.backup", Reason::damaged, "not a plain absolute path");
    }
    SECTION("at backup time, a live database that is not SQLite") {
        write_bytes(node.database(), "not a database at all");
        CHECK_THROWS_WITH(backup::write_backup(node.state(), dir / "new.backup", std::nullopt),
                          Contains(node.database().string()));
        CHECK_FALSE(fs::exists(dir / "new.backup"));
    }
}

TEST_CASE("a failure halfway through a restore puts the node back as it was", "[backup]") {
    TempDir dir("edgeway-backup");
    // The backup's configuration keeps its key in keys/, which on the node being restored is a
    // plain file: the key cannot be written, after the database and the certificate were.
    BackupNode source(dir / "source", {"/from-the-backup/"}, {{"private_key", "keys/node.key"}});
    backup::write_backup(source.state(), dir / "source.backup", std::nullopt);
    BackupNode node(dir / "node", {"/live/"});
    write_bytes(dir / "node" / "keys", "a file where the backup wants a directory");
    const auto before = snapshot_tree(node.dir());

    backup::Restore restore(dir / "source.backup", std::nullopt, node.target());
    try {
        restore.apply();
        FAIL("the restore did not fail");
    } catch (const backup::BackupError& e) {
        INFO(e.what());
        CHECK(e.reason() == Reason::restore_failed);
        CHECK_THAT(e.what(), Contains("keys/node.key"));
        CHECK_THAT(e.what(), Contains("the previous state was put back from"));
    }
    CHECK(rule_paths(node.database()) == std::vector<std::string>{"/live/"});
    auto after = snapshot_tree(node.dir());
    // What stays is the pre-restore backup; the database's bytes differ only by the version
    // bump that makes a running core publish the put-back rules again.
    std::size_t saved = 0;
    for (auto it = after.begin(); it != after.end();)
        if (it->first.find("pre-restore-") != std::string::npos)
            it = after.erase(it), ++saved;
        else
            ++it;
    CHECK(saved == 1);
    after.erase("state/allowlist.db");
    auto expected = before;
    expected.erase("state/allowlist.db");
    CHECK(after == expected);
}
