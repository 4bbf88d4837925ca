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

// The files of one certificate slot, kept before a replacement to put back on failure.
struct Backup {
    fs::path certificate_file, key_file;
    std::optional<std::string> certificate, key;
    void restore() const {
        if (certificate) write_file_atomically(certificate_file, *certificate, kCertificateMode);
        if (key) write_file_atomically(key_file, *key, kKeyMode);
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

bool CertificatesApi::has_https() const {
    return config_.hooks.reload_https_certificate && !config_.https_certificate.empty() &&
           !config_.https_private_key.empty();
}

std::optional<Response> CertificatesApi::handle(const Request& request, std::string_view path,
                                                const ChangeAuthor& author) {
    if (path == "certificates") {
        if (request.method() != http::verb::get) return method_not_allowed("GET");
        return list();
    }
    if (!path.starts_with("certificates/")) return std::nullopt;
    const std::string_view which = path.substr(13);
    if (which != "admin" && !(which == "https" && has_https()))
        return error_response(http::status::not_found, "No certificate \"" + std::string(which) +
                                                           "\" on this node (known: admin" +
                                                           (has_https() ? ", https" : "") + ").");
    if (request.method() != http::verb::put) return method_not_allowed("PUT");
    return replace(which, request, author);
}

Response CertificatesApi::list() {
    json rows = json::array();
    auto add = [&](const char* name, const char* purpose, const fs::path& file) {
        json row = {{"name", name}, {"purpose", purpose}, {"file", file.string()}};
        try {
            const auto info = describe_certificate_file(file);
            row.update(info_json(info));
            // The edge's certificate must carry every join URL host (browsers check it).
            if (std::string_view(name) == "https") {
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
    add("admin", "administration (445)", config_.certificate);
    if (has_https()) add("https", "browsers (443)", config_.https_certificate);
    return json_response(http::status::ok, {{"certificates", std::move(rows)}});
}

Response CertificatesApi::replace(std::string_view which, const Request& request,
                                  const ChangeAuthor& author) {
    const json body = json::parse(request.body(), nullptr, false);
    if (!body.is_object())
        return error_response(http::status::bad_request, "The body is not a JSON object.");
    for (const char* field : {"certificate", "private_key"})
        if (!body.contains(field) || !body[field].is_string())
            return error_response(http::status::unprocessable_entity,
                                  std::string(field) + ": expected PEM text", field);
    const std::string certificate = body["certificate"].get<std::string>();
    const std::string key = body["private_key"].get<std::string>();
    CertificateInfo info;
    try {
        info = check_certificate_and_key(certificate, key);
    } catch (const CertificateError& e) {
        return error_response(http::status::unprocessable_entity, e.what(), e.field());
    }

    const bool admin = which == "admin";
    Backup backup;
    backup.certificate_file = admin ? config_.certificate : config_.https_certificate;
    backup.key_file = admin ? config_.private_key : config_.https_private_key;
    backup.certificate = read_whole(backup.certificate_file);
    backup.key = read_whole(backup.key_file);
    try {
        write_file_atomically(backup.key_file, key, kKeyMode);
        write_file_atomically(backup.certificate_file, certificate, kCertificateMode);
        if (admin)
            listener_.replace_tls_context(tls::make_server_context(
                {backup.certificate_file, backup.key_file, {}, {"http/1.1"}}));
        else
            config_.hooks.reload_https_certificate();
    } catch (const std::exception& e) {
        log_.error("{}: replacing the {} certificate failed, old files restored: {}",
                   author.actor(), which, e.what());
        try {
            backup.restore();
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
