#include "app/node_state.hpp"

#include "admin/admin.hpp"
#include "allowlist/allowlist.hpp"
#include "app/cli_user.hpp"
#include "proxy/proxy.hpp"
#include "turn/turn.hpp"

#include <fmt/format.h>

namespace edgeway::app {

namespace {

namespace fs = std::filesystem;
using backup::ItemKind;

void add(backup::Layout& layout, ItemKind kind, const char* field, const fs::path& path) {
    if (!path.empty()) layout.files.push_back({kind, {field}, path});
}

// The files of an admin listener, when the node has one.
void add_admin(backup::Layout& layout, const std::optional<proxy::AdminListenerConfig>& admin) {
    if (!admin) return;
    add(layout, ItemKind::certificate, "admin.certificate", admin->certificate);
    add(layout, ItemKind::private_key, "admin.private_key", admin->private_key);
}

backup::DatabaseKind rule_database() {
    auto check = [](const fs::path& file) {
        allowlist::RuleStore store(file);
        const auto set = store.rule_set();  // every stored rule parsed
        store.targets();
        store.audit(1);
        const auto web_proxy = store.web_proxy();
        std::size_t automatic = 0;
        for (const auto& rule : set.rules) automatic += rule.origin == allowlist::Origin::automatic;
        return fmt::format("{} editable and {} automatic rules (version {}), web proxy {}",
                           set.rules.size() - automatic, automatic, set.version,
                           !web_proxy           ? "as configured"
                           : web_proxy->enabled ? "enabled"
                                                : "disabled");
    };
    // The running core publishes a rule set only when its version changes, and its edges apply
    // one only then: the restored rules get a version above the live database's.
    auto prepare = [](const fs::path& copy, const fs::path& live, const std::string& note) {
        std::uint64_t live_version = 0;
        std::error_code ec;
        if (fs::exists(live, ec)) {
            try {
                live_version = allowlist::RuleStore(live).version();
            } catch (const allowlist::StoreError&) {
                // A damaged live database (maybe why it is restored) has no version to beat.
            }
        }
        allowlist::RuleStore(copy).mark_restored(live_version, {cli_user_name()}, note);
    };
    return {"rule database", allowlist::kRuleDatabaseFile, check, prepare};
}

backup::DatabaseKind account_database() {
    auto prepare = [](const fs::path& copy, const fs::path&, const std::string& note) {
        admin::audit_restore(copy, cli_user_name(), note);
    };
    return {"account database", admin::kAccountDatabaseFile, &admin::describe_account_database,
            prepare};
}

backup::DatabaseKind credential_database() {
    return {"TURN credential database",
            turn::kCredentialDatabaseFile,
            &turn::describe_credential_database,
            {}};
}

}  // namespace

bool is_role(const std::string& role) {
    return role == "edge" || role == "core";
}

fs::path default_config_file(const std::string& role) {
    return fs::path("/etc/edgeway") / (role + ".json");
}

fs::path default_state_directory(const std::string& role) {
    return role == "core" ? proxy::CoreConfig{}.state_directory
                          : proxy::EdgeConfig{}.state_directory;
}

std::string role_of(const fs::path& config) {
    try {
        proxy::load_core_config(config);
        return "core";
    } catch (const proxy::ConfigError& core_error) {
        try {
            proxy::load_edge_config(config);
            return "edge";
        } catch (const proxy::ConfigError&) {
            throw core_error;
        }
    }
}

backup::Layout layout_of(const std::string& role, const fs::path& config) {
    backup::Layout layout;
    if (role == "core") {
        const auto core = proxy::load_core_config(config);
        layout.state_directory = core.state_directory;
        add(layout, ItemKind::certificate, "link_tls.certificate", core.link_certificate);
        add(layout, ItemKind::private_key, "link_tls.private_key", core.link_private_key);
        add(layout, ItemKind::certificate, "link_tls.edge_ca", core.edge_ca);
        add(layout, ItemKind::certificate, "webbridge_tls.ca", core.webbridge_ca);
        add(layout, ItemKind::config, "hosts_file", core.hosts_file);
        add_admin(layout, core.admin);
    } else {
        const auto edge = proxy::load_edge_config(config);
        layout.state_directory = edge.state_directory;
        add(layout, ItemKind::certificate, "tls.certificate", edge.certificate);
        add(layout, ItemKind::private_key, "tls.private_key", edge.private_key);
        add(layout, ItemKind::certificate, "link_tls.certificate", edge.link_certificate);
        add(layout, ItemKind::private_key, "link_tls.private_key", edge.link_private_key);
        add(layout, ItemKind::certificate, "link_tls.client_ca", edge.link_client_ca);
        add_admin(layout, edge.admin);
    }
    return layout;
}

backup::Layout layout_of_copy(const std::string& role, const fs::path& copy,
                              const fs::path& destination) {
    backup::Layout layout = layout_of(role, copy);
    // The configuration reader resolves relative paths against the copy's directory.
    const fs::path from = copy.parent_path(), to = destination.parent_path();
    auto rebase = [&](fs::path& path) {
        const fs::path relative = path.lexically_relative(from);
        if (!relative.empty() && *relative.begin() != "..") path = to / relative;
    };
    rebase(layout.state_directory);
    for (auto& file : layout.files) rebase(file.path);
    return layout;
}

std::vector<backup::DatabaseKind> database_kinds(const std::string& role) {
    // A core keeps the TURN credentials it pushes to its edges (SQLite state).
    if (role == "core") return {rule_database(), account_database(), credential_database()};
    return {account_database(), credential_database()};
}

}  // namespace edgeway::app
