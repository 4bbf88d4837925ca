// A small node for the backup library's tests: a JSON configuration naming (relative to itself)
// a state directory, a certificate and a private key, and a real rule database
// (allowlist::RuleStore) in the state directory. Its layout_of reads that JSON the way the
// binary reads an edge's or a core's configuration.
#pragma once

#include "backup/backup.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace edgeway::test {

class BackupNode {
  public:
    // Creates dir/node.json, dir/pki/ca.pem and ca.key, and dir/state/allowlist.db holding an
    // operator rule for each of `paths`. `config` overrides fields of the default configuration.
    BackupNode(std::filesystem::path dir, std::vector<std::string> paths,
               nlohmann::json config = nlohmann::json::object(), std::string role = "core");

    const std::filesystem::path& dir() const { return dir_; }
    std::filesystem::path config() const { return dir_ / "node.json"; }
    std::filesystem::path database() const { return dir_ / "state" / "allowlist.db"; }

    backup::NodeState state() const;
    backup::RestoreTarget target() const;         // restoring onto this node, configuration and all
    std::vector<std::string> rule_paths() const;  // the operator rules' paths, by id
    void add_rule(const std::string& path) const;
    void remove_rule(const std::string& path) const;

  private:
    std::filesystem::path dir_;
    std::string role_;
};

// The operator rules' paths in a rule database, by id.
std::vector<std::string> rule_paths(const std::filesystem::path& database);

// What the test kinds keep: the rule database, checked and summarised by RuleStore.
std::vector<backup::DatabaseKind> test_kinds();

// Every file under dir (relative path -> mode and bytes), to show that nothing changed.
std::map<std::string, std::string> snapshot_tree(const std::filesystem::path& dir);

// Unpacks a plain backup with tar, lets `edit` change the manifest and the files, updates the
// manifest's sizes and SHA-256s, and packs it again (manifest first) as `out`.
void repack(const std::filesystem::path& backup_file, const std::filesystem::path& out,
            const std::function<void(nlohmann::json& manifest,
                                     const std::filesystem::path& staging)>& edit);

}  // namespace edgeway::test
