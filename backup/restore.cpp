// `edgeway restore`: everything is read and verified (reader.cpp, then here: every database
// checked and migrated in its copy, the configuration read, every certificate and key parsed)
// before the first byte of the node changes. Writing saves what it replaces first, so a
// failure halfway can put the node back as it was.
#include "backup/backup.hpp"

#include "backup/files.hpp"
#include "backup/manifest.hpp"
#include "backup/pem_check.hpp"
#include "backup/reader.hpp"
#include "backup/sha256.hpp"
#include "backup/sqlite_copy.hpp"
#include "common/private_files.hpp"
#include "common/sqlite.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <set>

namespace edgeway::backup {

namespace {

namespace fs = std::filesystem;
using Reason = BackupError::Reason;
using Action = PlannedItem::Action;

bool is_configuration(const ManifestItem& item) {
    return item.kind == ItemKind::config && item.fields.empty();
}

// Messages from a check name the temporary copy; the operator knows the item by its entry.
std::string naming(std::string message, const fs::path& copy, const std::string& name) {
    const std::string path = copy.string();
    for (auto at = message.find(path); at != std::string::npos; at = message.find(path, at))
        message.replace(at, path.size(), name);
    return message;
}

Action action_for(const fs::path& destination) {
    std::error_code ec;
    return fs::exists(destination, ec) ? Action::replace : Action::create;
}

// "an edge", "a core".
std::string a_role(const std::string& role) {
    const bool vowel =
        !role.empty() && std::string_view("aeiou").find(role[0]) != std::string_view::npos;
    return (vowel ? "an " : "a ") + role;
}

// "20261125T104103Z": a file name part that sorts by time.
std::string compact_now() {
    std::string now = sqlite::now_utc();
    std::erase(now, '-');
    std::erase(now, ':');
    return now;
}

}  // namespace

std::string_view action_name(Action action) {
    switch (action) {
        case Action::create:
            return "create";
        case Action::replace:
            return "replace";
        case Action::unchanged:
            return "unchanged";
        case Action::skip:
            return "skip";
    }
    return "?";
}

struct Restore::Impl {
    RestoreTarget target;
    std::string name;
    ExtractedBackup backup;
    std::vector<PlannedItem> plan;   // in the order of writing: databases, files, configuration
    std::vector<fs::path> contents;  // per plan item, the verified bytes
    fs::path state_directory;        // where the databases go and the pre-restore backup is kept
    bool applied = false;

    Impl(Source& in, std::string file_name, const std::optional<std::string>& passphrase,
         RestoreTarget restore_target)
        : target(std::move(restore_target)), name(std::move(file_name)) {
        try {
            backup = extract_backup(in, passphrase, [this](const Manifest& m) { check(m); });
            make_plan();
        } catch (const BackupError& e) {
            throw BackupError(e.reason(), name + ": " + e.what());
        }
    }

    void check(const Manifest& manifest) const {
        if (manifest.role != target.role)
            throw BackupError(
                Reason::wrong_role,
                fmt::format("this is a backup of {} ('{}', made {}), but this "
                            "node is {}: restore it on {}",
                            a_role(manifest.role), manifest.hostname, manifest.created_at,
                            a_role(target.role), a_role(manifest.role)));
        if (manifest.state != "local")
            throw BackupError(Reason::newer_format,
                              fmt::format("its state is of kind \"{}\", which this edgeway "
                                          "cannot restore (it restores local state only)",
                                          manifest.state));
    }

    const DatabaseKind& kind_of(const ManifestItem& item) const {
        for (const auto& kind : target.kinds)
            if (kind.name == item.database && kind.file_name == item.path.filename()) return kind;
        throw BackupError(Reason::invalid_content,
                          fmt::format("it holds a {} ({}), which a {} does not keep", item.database,
                                      item.entry, target.role));
    }

    void add(const ManifestItem& item, std::size_t index, fs::path destination, Action action,
             std::string detail) {
        plan.push_back({item, std::move(destination), action, std::move(detail)});
        contents.push_back(backup.contents[index]);
    }

    void make_plan() {
        const auto& items = backup.manifest.items;
        // The configuration first: it says where everything else goes.
        std::optional<Layout> layout;
        std::optional<std::size_t> configuration;
        for (std::size_t i = 0; i < items.size(); ++i) {
            if (!is_configuration(items[i])) continue;
            if (configuration)
                throw BackupError(Reason::damaged, "invalid manifest: two configuration files");
            configuration = i;
            if (!target.config_file) continue;
            try {
                layout = target.layout_of(backup.contents[i],
                                          fs::absolute(*target.config_file).lexically_normal());
            } catch (const std::exception& e) {
                throw BackupError(
                    Reason::invalid_content,
                    fmt::format("its configuration cannot be used: {}",
                                naming(e.what(), backup.contents[i], items[i].entry)));
            }
        }
        state_directory = fs::absolute(layout ? layout->state_directory : target.state_directory)
                              .lexically_normal();

        for (std::size_t i = 0; i < items.size(); ++i) {
            const ManifestItem& item = items[i];
            if (item.kind != ItemKind::database) continue;
            const DatabaseKind& kind = kind_of(item);
            const fs::path& copy = backup.contents[i];
            std::string summary;
            try {
                quick_check(copy, item.entry);
                summary = kind.check(copy);
            } catch (const std::exception& e) {
                throw BackupError(Reason::invalid_content,
                                  fmt::format("its {} cannot be restored: {}", kind.name,
                                              naming(e.what(), copy, item.entry)));
            }
            const fs::path destination = state_directory / kind.file_name;
            add(item, i, destination, action_for(destination), std::move(summary));
        }

        for (std::size_t i = 0; i < items.size(); ++i) {
            const ManifestItem& item = items[i];
            if (item.kind == ItemKind::database || is_configuration(item)) continue;
            if (!layout) {
                add(item, i, item.path, Action::skip,
                    "not restored: only the databases are, without --config");
                continue;
            }
            const auto content = read_whole_file(backup.contents[i]);
            check_pem(item.kind, content, item.entry);
            const fs::path destination = destination_of(item, *layout);
            add(item, i, destination, file_action(destination, item), "");
        }

        if (configuration) {
            const ManifestItem& item = items[*configuration];
            if (target.config_file) {
                const fs::path destination = fs::absolute(*target.config_file).lexically_normal();
                add(item, *configuration, destination, file_action(destination, item), "");
            } else {
                add(item, *configuration, item.path, Action::skip,
                    "not restored: give --config to restore the configuration and its files");
            }
        }

        std::set<fs::path> destinations;
        for (const auto& planned : plan)
            if (planned.action != Action::skip && !destinations.insert(planned.destination).second)
                throw BackupError(
                    Reason::invalid_content,
                    fmt::format("two items would be written to {}", planned.destination.string()));
    }

    // Where the restored configuration says this file goes: the path its fields name now.
    fs::path destination_of(const ManifestItem& item, const Layout& layout) const {
        std::optional<fs::path> destination;
        for (const auto& field : item.fields)
            for (const auto& file : layout.files)
                if (std::find(file.fields.begin(), file.fields.end(), field) != file.fields.end()) {
                    if (destination && *destination != file.path)
                        throw BackupError(
                            Reason::invalid_content,
                            fmt::format("its configuration names {} and {} for {} ({})",
                                        destination->string(), file.path.string(), item.entry,
                                        fmt::join(item.fields, ", ")));
                    destination = file.path;
                }
        if (!destination)
            throw BackupError(
                Reason::invalid_content,
                fmt::format("it holds {}, which its configuration does not name", describe(item)));
        return fs::absolute(*destination).lexically_normal();
    }

    static Action file_action(const fs::path& destination, const ManifestItem& item) {
        const Action action = action_for(destination);
        if (action == Action::replace) {
            try {
                if (sha256_of_file(destination) == item.sha256) return Action::unchanged;
            } catch (const BackupError&) {
                // Unreadable now: replacing it will say why, if it still is.
            }
        }
        return action;
    }

    static std::string sha256_of_file(const fs::path& file);

    // What the plan is about to replace, as a node state to back up. Unchanged files are in it
    // too, so that it restores like any backup (its configuration says where its files go).
    NodeState current_state() const {
        std::optional<fs::path> config_file;
        Layout layout{state_directory, {}};
        for (const auto& planned : plan) {
            if (planned.action != Action::replace && planned.action != Action::unchanged) continue;
            if (is_configuration(planned.item))
                config_file = planned.destination;
            else if (planned.item.kind != ItemKind::database)
                layout.files.push_back(
                    {planned.item.kind, planned.item.fields, planned.destination});
        }
        return describe_node(target.role, config_file, std::move(layout), target.kinds);
    }

    std::string note() const {
        return fmt::format("restored from {}: backup of {} '{}' made {}", name,
                           backup.manifest.role, backup.manifest.hostname,
                           backup.manifest.created_at);
    }

    void write(const PlannedItem& planned, const fs::path& content) const {
        if (planned.item.kind == ItemKind::database) {
            const DatabaseKind& kind = kind_of(planned.item);
            if (kind.prepare) kind.prepare(content, planned.destination, note());
            write_database(content, planned.destination);
            return;
        }
        const unsigned mode = planned.item.kind == ItemKind::private_key ? planned.item.mode & 0600
                                                                         : planned.item.mode;
        replace_file(planned.destination, read_whole_file(content), mode);
    }

    // Writes back what the pre-restore backup saved of the items written so far, and removes
    // those that did not exist before.
    void put_back(const fs::path& saved_file, const std::vector<const PlannedItem*>& written) {
        FileSource source(saved_file);
        const ExtractedBackup saved = extract_backup(source, std::nullopt, {});
        const auto& items = saved.manifest.items;
        for (const PlannedItem* planned : written) {
            if (planned->action == Action::create) {
                std::error_code ec;
                fs::remove(planned->destination, ec);
                if (planned->item.kind == ItemKind::database) {
                    fs::remove(planned->destination.string() + "-wal", ec);
                    fs::remove(planned->destination.string() + "-shm", ec);
                }
                continue;
            }
            const auto it = std::find_if(items.begin(), items.end(), [&](const ManifestItem& item) {
                return item.path == planned->destination;
            });
            if (it == items.end())
                throw BackupError(Reason::io, planned->destination.string() +
                                                  " is missing from the pre-restore backup");
            const fs::path& content = saved.contents[static_cast<std::size_t>(it - items.begin())];
            if (it->kind == ItemKind::database) {
                const DatabaseKind& kind = kind_of(*it);
                if (kind.prepare)
                    kind.prepare(content, it->path, "put back after a failed restore from " + name);
                write_database(content, it->path);
            } else {
                replace_file(it->path, read_whole_file(content), it->mode);
            }
        }
    }

    fs::path apply() {
        if (applied) throw std::logic_error("Restore::apply called twice");
        applied = true;
        // Two restores in one second keep both saved states.
        const std::string stem = "pre-restore-" + compact_now();
        fs::path saved = state_directory / (stem + ".edgeway-backup");
        for (int n = 2; fs::exists(saved); ++n)
            saved = state_directory / fmt::format("{}-{}.edgeway-backup", stem, n);
        try {
            create_private_directories(state_directory);
            write_backup(current_state(), saved, std::nullopt);
        } catch (const std::exception& e) {
            throw BackupError(Reason::io, fmt::format("cannot save the current state first, so "
                                                      "nothing was changed: {}",
                                                      e.what()));
        }
        std::vector<const PlannedItem*> written;
        for (std::size_t i = 0; i < plan.size(); ++i) {
            const PlannedItem& planned = plan[i];
            if (planned.action != Action::create && planned.action != Action::replace) continue;
            written.push_back(&planned);
            try {
                write(planned, contents[i]);
            } catch (const std::exception& e) {
                std::string outcome;
                try {
                    put_back(saved, written);
                    outcome = "the previous state was put back from " + saved.string();
                } catch (const std::exception& again) {
                    outcome = fmt::format(
                        "putting the previous state back failed too ({}): "
                        "restore {} to get it back",
                        again.what(), saved.string());
                }
                throw BackupError(
                    Reason::restore_failed,
                    fmt::format("restoring {} to {} failed: {}; {}", describe(planned.item),
                                planned.destination.string(), e.what(), outcome));
            }
        }
        return saved;
    }
};

std::string Restore::Impl::sha256_of_file(const fs::path& file) {
    return sha256_hex(read_whole_file(file));
}

Restore::Restore(const fs::path& file, const std::optional<std::string>& passphrase,
                 RestoreTarget target) {
    FileSource source(file);
    impl_ = std::make_unique<Impl>(source, file.string(), passphrase, std::move(target));
}

Restore::Restore(std::istream& in, const std::string& name,
                 const std::optional<std::string>& passphrase, RestoreTarget target) {
    StreamSource source(in, name);
    impl_ = std::make_unique<Impl>(source, name, passphrase, std::move(target));
}

Restore::~Restore() = default;

const Manifest& Restore::manifest() const {
    return impl_->backup.manifest;
}

bool Restore::encrypted() const {
    return impl_->backup.encrypted;
}

const std::vector<PlannedItem>& Restore::plan() const {
    return impl_->plan;
}

fs::path Restore::apply() {
    return impl_->apply();
}

}  // namespace edgeway::backup
