#include "tests/unit/backup_node.hpp"

#include "allowlist/allowlist.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/data.hpp"
#include "tests/support/temp_dir.hpp"
#include "tls/tls.hpp"

#include <sys/stat.h>

#include <fmt/format.h>

#include <fstream>
#include <stdexcept>

namespace edgeway::test {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

json read_json(const fs::path& file) {
    return json::parse(read_file(file));
}

// The test configuration's files, relative paths counting from `base`.
backup::Layout layout_from(const fs::path& config, const fs::path& base) {
    const json doc = read_json(config);
    auto resolve = [&](const std::string& path) {
        return fs::path(path).is_absolute() ? fs::path(path) : base / path;
    };
    backup::Layout layout;
    layout.state_directory = resolve(doc.at("state_directory"));
    layout.files.push_back(
        {backup::ItemKind::certificate, {"certificate"}, resolve(doc.at("certificate"))});
    layout.files.push_back(
        {backup::ItemKind::private_key, {"private_key"}, resolve(doc.at("private_key"))});
    return layout;
}

allowlist::Rule rule_for(const std::string& path) {
    allowlist::Rule rule;
    rule.host = "join.example.com";
    rule.path = path;
    rule.methods = allowlist::method_bit(allowlist::Method::GET);
    rule.description = "rule " + path;
    return rule;
}

}  // namespace

BackupNode::BackupNode(fs::path dir, std::vector<std::string> paths, json config, std::string role)
    : dir_(std::move(dir)), role_(std::move(role)) {
    json doc = {
        {"state_directory", "state"}, {"certificate", "pki/ca.pem"}, {"private_key", "pki/ca.key"}};
    doc.merge_patch(config);
    fs::create_directories(dir_);
    std::ofstream(this->config()) << doc.dump(2) << "\n";
    const auto layout = layout_from(this->config(), dir_);
    fs::create_directories(layout.files[0].path.parent_path());
    fs::create_directories(layout.files[1].path.parent_path());
    tls::write_ca(layout.files[0].path, layout.files[1].path, "Backup Test CA " + dir_.string());
    // One transaction (each commit is an fsync).
    std::vector<allowlist::Rule> rules;
    for (const auto& path : paths) rules.push_back(rule_for(path));
    allowlist::RuleStore(layout.state_directory / allowlist::kRuleDatabaseFile)
        .replace_operator_rules(rules, {"test"});
}

backup::NodeState BackupNode::state() const {
    return backup::describe_node(role_, config(), layout_from(config(), dir_), test_kinds());
}

backup::RestoreTarget BackupNode::target() const {
    backup::RestoreTarget target;
    target.role = role_;
    target.config_file = config();
    target.state_directory = dir_ / "state";
    target.layout_of = [](const fs::path& copy, const fs::path& destination) {
        return layout_from(copy, destination.parent_path());
    };
    target.kinds = test_kinds();
    return target;
}

std::vector<std::string> BackupNode::rule_paths() const {
    return test::rule_paths(database());
}

void BackupNode::add_rule(const std::string& path) const {
    allowlist::RuleStore(database()).add(rule_for(path), {"test"});
}

void BackupNode::remove_rule(const std::string& path) const {
    allowlist::RuleStore store(database());
    for (const auto& rule : store.operator_rules())
        if (rule.path == path) store.remove(rule.id, {"test"});
}

std::vector<std::string> rule_paths(const fs::path& database) {
    allowlist::RuleStore store(database);
    std::vector<std::string> paths;
    for (const auto& rule : store.operator_rules()) paths.push_back(rule.path);
    return paths;
}

std::vector<backup::DatabaseKind> test_kinds() {
    backup::DatabaseKind rules;
    rules.name = "rule database";
    rules.file_name = allowlist::kRuleDatabaseFile;
    rules.check = [](const fs::path& file) {
        allowlist::RuleStore store(file);
        return fmt::format("{} rules", store.rule_set().rules.size());
    };
    rules.prepare = [](const fs::path& copy, const fs::path& live, const std::string& note) {
        const std::uint64_t live_version =
            fs::exists(live) ? allowlist::RuleStore(live).version() : 0;
        allowlist::RuleStore(copy).mark_restored(live_version, {"test"}, note);
    };
    return {rules};
}

std::map<std::string, std::string> snapshot_tree(const fs::path& dir) {
    std::map<std::string, std::string> tree;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
        struct stat info {};
        ::lstat(entry.path().c_str(), &info);
        const std::string key = entry.path().lexically_relative(dir).string();
        tree[key] = fmt::format("{:o} ", info.st_mode) +
                    (entry.is_regular_file() ? read_file(entry.path()) : std::string());
    }
    return tree;
}

void repack(const fs::path& backup_file, const fs::path& out,
            const std::function<void(json&, const fs::path&)>& edit) {
    const fs::path staging = out.string() + ".staging";
    fs::create_directories(staging);
    auto tar = [&](std::vector<std::string> args) {
        const auto result = run_program("/usr/bin/tar", args, out.string() + ".tar.log", 20s);
        if (result.exit_code != 0) throw std::runtime_error("tar failed: " + result.output);
    };
    tar({"-xzf", backup_file.string(), "-C", staging.string()});
    json manifest = read_json(staging / "manifest.json");
    edit(manifest, staging);
    std::vector<std::string> args = {"-czf", out.string(), "-C", staging.string(), "manifest.json"};
    for (auto& item : manifest["items"]) {
        const std::string bytes = read_file(staging / item["entry"].get<std::string>());
        item["size"] = bytes.size();
        item["sha256"] = sha256_hex(bytes);
        args.push_back(item["entry"]);
    }
    std::ofstream(staging / "manifest.json", std::ios::trunc) << manifest.dump(2);
    tar(args);
}

}  // namespace edgeway::test
