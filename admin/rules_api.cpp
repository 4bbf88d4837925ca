#include "admin/rules_api.hpp"

#include "admin/status_api.hpp"

#include <charconv>

namespace edgeway::admin {
namespace {

namespace al = edgeway::allowlist;

std::optional<std::int64_t> parse_id(std::string_view text) {
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value <= 0) return std::nullopt;
    return value;
}

}  // namespace

std::optional<std::string> field_of(std::string_view message) {
    static constexpr std::string_view marker = "field \"";
    const auto start = message.find(marker);
    if (start == std::string_view::npos) return std::nullopt;
    const auto name = start + marker.size();
    const auto end = message.find('"', name);
    if (end == std::string_view::npos) return std::nullopt;
    return std::string(message.substr(name, end - name));
}

std::optional<Response> RulesApi::handle(const Request& request, std::string_view path,
                                         std::string_view, const al::Actor& actor) {
    const auto method = request.method();
    if (path == "rules") {
        if (method == http::verb::get) return list();
        if (method == http::verb::post) return add(request, actor);
        return method_not_allowed("GET, POST");
    }
    if (path.starts_with("rules/")) {
        if (method != http::verb::delete_) return method_not_allowed("DELETE");
        return remove(path.substr(6), actor);
    }
    if (path == "status/targets") {
        if (method != http::verb::get) return method_not_allowed("GET");
        return targets();
    }
    return std::nullopt;
}

Response RulesApi::list() {
    json automatic = json::array(), editable = json::array();
    for (const auto& rule : store_.automatic_rules()) automatic.push_back(al::rule_to_json(rule));
    for (const auto& rule : store_.operator_rules()) editable.push_back(al::rule_to_json(rule));
    return json_response(http::status::ok, {{"version", store_.version()},
                                            {"automatic", std::move(automatic)},
                                            {"editable", std::move(editable)}});
}

Response RulesApi::add(const Request& request, const al::Actor& actor) {
    const json body = json::parse(request.body(), nullptr, false);
    if (body.is_discarded())
        return error_response(http::status::bad_request, "The body is not valid JSON.");
    al::Rule rule;
    try {
        rule = al::rule_from_json(body, "");
    } catch (const al::RuleError& e) {
        return error_response(http::status::unprocessable_entity, e.what(), field_of(e.what()));
    }
    // Only operator rules can be added here, whatever the document says.
    rule.id = 0;
    rule.origin = al::Origin::operator_rule;
    for (const auto& existing : store_.operator_rules()) {
        auto same = existing;
        same.id = 0;
        same.description = rule.description;
        if (same == rule)
            return error_response(http::status::conflict,
                                  "An identical rule exists: " + existing.describe());
    }
    try {
        rule = store_.add(rule, actor);
    } catch (const al::DuplicateRule& e) {
        // Added meanwhile through another core (or the CLI): the same answer as above.
        for (const auto& existing : store_.operator_rules())
            if (existing.id == e.existing())
                return error_response(http::status::conflict,
                                      "An identical rule exists: " + existing.describe());
        return error_response(http::status::conflict,
                              "An identical rule exists: #" + std::to_string(e.existing()));
    }
    log_.info("{} added rule {}", actor.name, rule.describe());
    Response response = json_response(http::status::created, al::rule_to_json(rule));
    response.set(http::field::location, "/api/v1/rules/" + std::to_string(rule.id));
    return response;
}

Response RulesApi::remove(std::string_view id_text, const al::Actor& actor) {
    const auto id = parse_id(id_text);
    if (!id || !store_.remove(*id, actor))
        return error_response(http::status::not_found,
                              "No editable rule with id " + std::string(id_text) + ".");
    log_.info("{} removed rule #{}", actor.name, *id);
    return json_response(http::status::ok, {{"removed", *id}});
}

Response RulesApi::targets() {
    // One row per target, as on the appliance's page "Guest account client URI resolved to the
    // following targets", with its health as the core's balancer sees it; a URI that resolved
    // to nothing gets one row with its error.
    const auto health = hooks_.upstream_targets ? hooks_.upstream_targets()
                                                : std::vector<telemetry::UpstreamTarget>();
    json rows = json::array();
    for (const auto& status : store_.targets()) {
        if (status.targets.empty())
            rows.push_back({{"uri", status.uri},
                            {"name", ""},
                            {"address", ""},
                            {"error", status.error.empty() ? "no address found" : status.error},
                            {"checked_at", status.checked_at}});
        for (const auto& target : status.targets) {
            json row = {{"uri", status.uri},
                        {"name", target.name},
                        {"address", target.address},
                        {"error", status.error},
                        {"checked_at", status.checked_at}};
            row.update(target_health_to_json(health, status.uri, target));
            rows.push_back(std::move(row));
        }
    }
    return json_response(http::status::ok, {{"targets", std::move(rows)}});
}

}  // namespace edgeway::admin
