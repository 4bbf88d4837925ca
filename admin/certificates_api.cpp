#include "admin/certificates_api.hpp"

#include "admin/certificate_check.hpp"
#include "admin/status_api.hpp"

#include "allowlist/allowlist.hpp"
#include "tls/tls.hpp"

#include <fstream>
#include <sstream>

namespace edgeway::admin {
namespace {

namespace fs = std::filesystem;

constexpr auto kCertificateMode =
    fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read;
constexpr auto kKeyMode = fs::perms::owner_read | fs::perms::owner_write;

std::optional<std::string> read_whole(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return std::nullopt;
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

bool covers(const std::string& name, const std::string& host) {
    if (name == host) return true;
    if (!name.starts_with("*.")) return false;
    const auto dot = host.find('.');
    return dot != std::string::npos && host.substr(dot) == name.substr(1);
}

json info_json(const CertificateInfo& info) {
    return {{"subject", info.subject},     {"names", info.names},
            {"issuer", info.issuer},       {"not_before", info.not_before},
            {"not_after", info.not_after}, {"sha256", info.sha256}};
}

// The files of one certificate slot, kept before a replacement to put back on failure (a file
// that was not there is removed again).
struct Backup {
    fs::path certificate_file, key_file;  // key_file empty: a CA slot
    std::optional<std::string> certificate, key;
    bool existed() const { return certificate.has_value(); }
    void restore() const {
        put_back(certificate_file, certificate, kCertificateMode);
        if (!key_file.empty()) put_back(key_file, key, kKeyMode);
    }
    static void put_back(const fs::path& file, const std::optional<std::string>& text,
                         fs::perms mode) {
        if (text)
            write_file_atomically(file, *text, mode);
        else
            fs::remove(file);
    }
};

}  // namespace

std::vector<std::string> uncovered_hosts(const std::vector<std::string>& names,
                                         const std::vector<std::string>& join_urls) {
    std::vector<std::string> out;
    for (const auto& uri : join_urls) {
        std::string host;
        try {
            host = allowlist::parse_join_uri(uri).host;
        } catch (const allowlist::RuleError&) {
            continue;
        }
        bool covered = false;
        for (const auto& name : names) covered = covered || covers(name, host);
        if (!covered) out.push_back(host);
    }
    return out;
}

const CertificateSlot* CertificatesApi::slot(std::string_view name) const {
    for (const auto& slot : config_.certificates)
        if (slot.name == name) return &slot;
    return nullptr;
}

std::optional<Response> CertificatesApi::handle(const Request& request, std::string_view path,
                                                const ChangeAuthor& author) {
    if (path == "certificates") {
        if (request.method() != http::verb::get) return method_not_allowed("GET");
        return list();
    }
    if (!path.starts_with("certificates/")) return std::nullopt;
    const std::string_view which = path.substr(13);
    if (which != "admin" && !slot(which)) {
        std::string known = "admin";
        for (const auto& slot : config_.certificates) known += ", " + slot.name;
        return error_response(
            http::status::not_found,
            "No certificate \"" + std::string(which) + "\" on this node (known: " + known + ").");
    }
    if (request.method() != http::verb::put) return method_not_allowed("PUT");
    return replace(which, request, author);
}

Response CertificatesApi::list() {
    json rows = json::array();
    auto add = [&](const std::string& name, const std::string& purpose, const fs::path& file,
                   bool with_key, bool names_join_hosts) {
        json row = {{"name", name},
                    {"purpose", purpose},
                    {"file", file.string()},
                    {"private_key", with_key}};
        try {
            const auto info = describe_certificate_file(file);
            row.update(info_json(info));
            if (names_join_hosts) {
                json warnings = json::array();
                std::vector<std::string> join_urls = config_.join_urls;
                if (state_.rules)
                    if (const auto stored = state_.rules->web_proxy())
                        join_urls = stored->join_urls;
                for (const auto& host : uncovered_hosts(info.names, join_urls))
                    warnings.push_back("The certificate does not name the join URL host " + host +
                                       ": browsers will refuse it.");
                row["warnings"] = warnings;
            }
        } catch (const std::exception& e) {
            row["error"] = e.what();
        }
        rows.push_back(std::move(row));
    };
    add("admin", "administration (445)", config_.certificate, true, false);
    for (const auto& slot : config_.certificates)
        add(slot.name, slot.purpose, slot.certificate, !slot.private_key.empty(),
            slot.names_join_hosts);
    return json_response(http::status::ok, {{"certificates", std::move(rows)}});
}

Response CertificatesApi::replace(std::string_view which, const Request& request,
                                  const ChangeAuthor& author) {
    const CertificateSlot* target = slot(which);  // null: the admin listener's own
    const bool with_key = !target || !target->private_key.empty();
    const json body = json::parse(request.body(), nullptr, false);
    if (!body.is_object())
        return error_response(http::status::bad_request, "The body is not a JSON object.");
    std::vector<const char*> fields{"certificate"};
    if (with_key) fields.push_back("private_key");
    for (const char* field : fields)
        if (!body.contains(field) || !body[field].is_string())
            return error_response(http::status::unprocessable_entity,
                                  std::string(field) + ": expected PEM text", field);
    const std::string certificate = body["certificate"].get<std::string>();
    const std::string key = with_key ? body["private_key"].get<std::string>() : std::string();
    CertificateInfo info;
    try {
        info = with_key ? check_certificate_and_key(certificate, key)
                        : check_ca_certificates(certificate);
    } catch (const CertificateError& e) {
        return error_response(http::status::unprocessable_entity, e.what(), e.field());
    }

    Backup backup;
    backup.certificate_file = target ? target->certificate : config_.certificate;
    backup.key_file = target ? target->private_key : config_.private_key;
    backup.certificate = read_whole(backup.certificate_file);
    backup.key = read_whole(backup.key_file);
    try {
        if (with_key) write_file_atomically(backup.key_file, key, kKeyMode);
        write_file_atomically(backup.certificate_file, certificate, kCertificateMode);
        if (target)
            target->reload();
        else
            listener_.replace_tls_context(tls::make_server_context(
                {backup.certificate_file, backup.key_file, {}, {"http/1.1"}}));
    } catch (const std::exception& e) {
        log_.error("{}: replacing the {} certificate failed, old files restored: {}",
                   author.actor(), which, e.what());
        try {
            backup.restore();
            if (target && backup.existed()) target->reload();
        } catch (const std::exception& again) {
            log_.error("restoring the {} certificate failed too: {}", which, again.what());
        }
        return error_response(http::status::unprocessable_entity,
                              "certificate: cannot be used: " + std::string(e.what()),
                              "certificate");
    }
    record_change(state_, log_, author, "certificate replaced",
                  std::string(which) + ": " + info.subject + " sha256 " + info.sha256 +
                      ", valid until " + info.not_after);
    json answer = info_json(info);
    answer["name"] = std::string(which);
    return json_response(http::status::ok, answer);
}

}  // namespace edgeway::admin
