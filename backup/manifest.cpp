#include "backup/manifest.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <set>

namespace edgeway::backup {

namespace {

using json = nlohmann::json;
using Reason = BackupError::Reason;

constexpr ItemKind kKinds[] = {ItemKind::database, ItemKind::config, ItemKind::certificate,
                               ItemKind::private_key};

[[noreturn]] void invalid(const std::string& what) {
    throw BackupError(Reason::damaged, "invalid manifest: " + what);
}

const json& field(const json& object, const char* name, json::value_t type,
                  const std::string& where) {
    const auto it = object.find(name);
    if (it == object.end() || it->type() != type)
        invalid(fmt::format("{}field \"{}\" is missing or of the wrong type", where, name));
    return *it;
}

std::string text(const json& object, const char* name, const std::string& where = "") {
    return field(object, name, json::value_t::string, where).get<std::string>();
}

// An absolute path without "." or ".." parts: nothing in a manifest can point elsewhere.
bool clean_absolute(const std::filesystem::path& path) {
    if (!path.is_absolute()) return false;
    for (const auto& part : path.relative_path())
        if (part == "." || part == ".." || part.empty()) return false;
    return true;
}

bool is_sha256(const std::string& text) {
    return text.size() == 64 && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

ManifestItem item_from_json(const json& value, std::size_t index) {
    const std::string where = fmt::format("item {}: ", index + 1);
    if (!value.is_object()) invalid(where + "not an object");
    ManifestItem item;
    const std::string kind = text(value, "kind", where);
    bool known = false;
    for (const auto candidate : kKinds)
        if (kind_name(candidate) == kind) item.kind = candidate, known = true;
    if (!known) invalid(fmt::format("{}unknown kind \"{}\"", where, kind));
    if (item.kind == ItemKind::database)
        item.database = text(value, "database", where);
    else
        for (const auto& name : field(value, "fields", json::value_t::array, where)) {
            if (!name.is_string()) invalid(where + "field \"fields\" must hold strings");
            item.fields.push_back(name.get<std::string>());
        }
    item.path = text(value, "path", where);
    if (!clean_absolute(item.path))
        invalid(
            fmt::format("{}path \"{}\" is not a plain absolute path", where, item.path.string()));
    const json& size = value.value("size", json());
    if (!size.is_number_unsigned()) invalid(where + "field \"size\" is missing or negative");
    item.size = size.get<std::uint64_t>();
    item.sha256 = text(value, "sha256", where);
    if (!is_sha256(item.sha256)) invalid(where + "field \"sha256\" is not a SHA-256 in hex");
    const std::string mode = text(value, "mode", where);
    if (mode.empty() || mode.size() > 5 || mode.find_first_not_of("01234567") != std::string::npos)
        invalid(where + "field \"mode\" is not an octal file mode");
    item.mode = static_cast<unsigned>(std::stoul(mode, nullptr, 8)) & 07777;
    item.entry = text(value, "entry", where);
    if (item.entry != entry_name(item))
        invalid(fmt::format("{}entry \"{}\" does not match its path", where, item.entry));
    return item;
}

}  // namespace

std::string_view kind_name(ItemKind kind) {
    switch (kind) {
        case ItemKind::database:
            return "database";
        case ItemKind::config:
            return "config";
        case ItemKind::certificate:
            return "certificate";
        case ItemKind::private_key:
            return "private key";
    }
    return "?";
}

std::string entry_name(const ManifestItem& item) {
    if (item.kind == ItemKind::database) return "databases/" + item.path.filename().string();
    return "files/" + item.path.relative_path().string();
}

std::string describe(const ManifestItem& item) {
    if (item.kind == ItemKind::database) return item.database + " " + item.path.string();
    std::string text = std::string(kind_name(item.kind)) + " " + item.path.string();
    if (!item.fields.empty()) text += fmt::format(" ({})", fmt::join(item.fields, ", "));
    return text;
}

std::string manifest_to_json(const Manifest& manifest) {
    json items = json::array();
    for (const auto& item : manifest.items) {
        json value = {{"entry", item.entry}, {"kind", kind_name(item.kind)}};
        if (item.kind == ItemKind::database)
            value["database"] = item.database;
        else
            value["fields"] = item.fields;
        value["path"] = item.path.string();
        value["size"] = item.size;
        value["sha256"] = item.sha256;
        value["mode"] = fmt::format("{:04o}", item.mode);
        items.push_back(std::move(value));
    }
    const json doc = {{"format", kFormatName},
                      {"format_version", manifest.format_version},
                      {"edgeway_version", manifest.edgeway_version},
                      {"role", manifest.role},
                      {"hostname", manifest.hostname},
                      {"created_at", manifest.created_at},
                      {"state", manifest.state},
                      {"items", std::move(items)}};
    return doc.dump(2) + "\n";
}

Manifest manifest_from_json(const std::string& text_in) {
    const json doc = json::parse(text_in, nullptr, false);
    if (!doc.is_object() || doc.value("format", json()) != kFormatName)
        throw BackupError(Reason::not_a_backup,
                          "not an Edgeway backup (its manifest.json is of another format)");
    Manifest manifest;
    const json& version = doc.value("format_version", json());
    if (!version.is_number_integer() || version.get<std::int64_t>() < 1)
        invalid("field \"format_version\" is missing or not a positive integer");
    if (version.get<std::int64_t>() > kFormatVersion)
        throw BackupError(Reason::newer_format,
                          fmt::format("written by a newer edgeway ({}, backup format version {}); "
                                      "this one reads format version {} and older",
                                      doc.value("edgeway_version", std::string("?")),
                                      version.get<std::int64_t>(), kFormatVersion));
    manifest.format_version = version.get<int>();
    manifest.edgeway_version = text(doc, "edgeway_version");
    manifest.role = text(doc, "role");
    manifest.hostname = text(doc, "hostname");
    manifest.created_at = text(doc, "created_at");
    manifest.state = text(doc, "state");
    std::set<std::string> entries;
    const json& items = field(doc, "items", json::value_t::array, "");
    for (std::size_t i = 0; i < items.size(); ++i) {
        manifest.items.push_back(item_from_json(items[i], i));
        if (!entries.insert(manifest.items.back().entry).second)
            invalid(fmt::format("item {}: entry \"{}\" is listed twice", i + 1,
                                manifest.items.back().entry));
    }
    return manifest;
}

}  // namespace edgeway::backup
