#include "admin/status_api.hpp"

#include "admin/cluster_status.hpp"
#include "admin/query.hpp"

namespace edgeway::admin {
namespace {

namespace tele = edgeway::telemetry;

constexpr std::int64_t kMaxLogRows = 2000;
constexpr std::size_t kMaxFilterText = 200;

Response absent(std::string_view what) {
    return error_response(http::status::not_found, "This node has no " + std::string(what) + ".");
}

}  // namespace

Response method_not_allowed(std::string_view allow) {
    Response response = error_response(http::status::method_not_allowed,
                                       "Method not allowed here. Allowed: " + std::string(allow));
    response.set(http::field::allow, allow);
    return response;
}

json link_to_json(const tele::LinkStatus& link) {
    return {{"peer", link.peer},
            {"name", link.name},
            {"domains", link.domains},
            {"state", tele::to_string(link.state)},
            {"reason", link.reason},
            {"since", tele::iso8601(link.since)},
            {"streams_open", link.streams_open},
            {"streams_total", link.streams_total},
            {"bytes_in", link.bytes_in},
            {"bytes_out", link.bytes_out}};
}

json allocation_to_json(const tele::RelayAllocation& allocation) {
    return {{"user", allocation.user},
            {"client", allocation.client},
            {"relayed", allocation.relayed},
            {"peers", allocation.peers},
            {"bytes_in", allocation.bytes_in},
            {"bytes_out", allocation.bytes_out},
            {"packets_in", allocation.packets_in},
            {"packets_out", allocation.packets_out},
            {"created", tele::iso8601(allocation.created)}};
}

json request_to_json(const tele::RequestRecord& record) {
    return {{"at", tele::iso8601(record.at)},
            {"client", record.client},
            {"protocol", record.protocol},
            {"method", record.method},
            {"host", record.host},
            {"path", record.path},
            {"status", record.status},
            {"refused", !record.refusal.empty()},
            {"refusal", record.refusal},
            {"detail", record.detail},
            {"bytes_in", record.bytes_in},
            {"bytes_out", record.bytes_out},
            {"duration_ms", record.duration.count()}};
}

json target_health_to_json(const std::vector<tele::UpstreamTarget>& health, const std::string& uri,
                           const allowlist::ResolvedTarget& target) {
    json row = {{"state", tele::to_string(tele::UpstreamHealth::unchecked)},
                {"since", ""},
                {"reason", ""},
                {"requests", 0}};
    allowlist::JoinUri join;
    try {
        join = allowlist::parse_join_uri(uri);
    } catch (const allowlist::RuleError&) {
        return row;  // not a join URI the core could have used
    }
    const std::string endpoint = allowlist::target_endpoint(target, join.port);
    for (const auto& entry : health) {
        if (entry.host != join.host || entry.port != join.port || entry.address != endpoint)
            continue;
        row = {{"state", tele::to_string(entry.health)},
               {"since", tele::iso8601(entry.since)},
               {"reason", entry.reason},
               {"requests", entry.requests}};
    }
    return row;
}

std::optional<Response> StatusApi::handle(const Request& request, std::string_view path,
                                          std::string_view query) {
    if (path != "status/links" && path != "status/cluster" && path != "status/relay" &&
        path != "logs")
        return std::nullopt;
    if (request.method() != http::verb::get) return method_not_allowed("GET");
    if (path == "status/links") return links();
    if (path == "status/cluster") return cluster();
    if (path == "status/relay") return relay();
    return logs(query);
}

Response StatusApi::links() {
    if (!hooks_.links) return absent("traversal links");
    json rows = json::array();
    for (const auto& link : hooks_.links()) rows.push_back(link_to_json(link));
    return json_response(http::status::ok, {{"links", std::move(rows)}});
}

Response StatusApi::cluster() {
    if (!hooks_.cluster) return absent("cluster view (an edge: its links page shows the cores)");
    return json_response(http::status::ok, cluster_to_json(hooks_.cluster()));
}

Response StatusApi::relay() {
    if (!hooks_.relay) return absent("TURN relay");
    json rows = json::array();
    for (const auto& allocation : hooks_.relay()) rows.push_back(allocation_to_json(allocation));
    return json_response(http::status::ok, {{"allocations", std::move(rows)}});
}

Response StatusApi::logs(std::string_view query) {
    if (!hooks_.requests) return absent("request log");
    const auto parameters = parse_query(query);
    if (!parameters)
        return error_response(http::status::unprocessable_entity,
                              "The query string has an invalid escape or a control character.",
                              "query");
    telemetry::RequestFilter filter;
    for (const auto& [name, value] : *parameters) {
        if (name == "refused") {
            const auto flag = parse_flag(value);
            if (!flag)
                return error_response(http::status::unprocessable_entity,
                                      "refused: expected 1 or 0", "refused");
            filter.refused_only = *flag;
        } else if (name == "status") {
            if (value.empty()) continue;  // the UI's "any status"
            const auto status = parse_integer(value, 100, 599);
            if (!status)
                return error_response(http::status::unprocessable_entity,
                                      "status: expected an HTTP status from 100 to 599", "status");
            filter.status = static_cast<unsigned>(*status);
        } else if (name == "q") {
            if (value.size() > kMaxFilterText)
                return error_response(
                    http::status::unprocessable_entity,
                    "q: at most " + std::to_string(kMaxFilterText) + " characters", "q");
            filter.text = value;
        } else if (name == "limit") {
            const auto limit = parse_integer(value, 1, kMaxLogRows);
            if (!limit)
                return error_response(
                    http::status::unprocessable_entity,
                    "limit: expected an integer from 1 to " + std::to_string(kMaxLogRows), "limit");
            filter.limit = static_cast<std::size_t>(*limit);
        } else {
            return error_response(
                http::status::unprocessable_entity,
                "Unknown parameter \"" + name + "\" (known: refused, status, q, limit).", name);
        }
    }
    json rows = json::array();
    for (const auto& record : hooks_.requests->recent(filter))
        rows.push_back(request_to_json(record));
    return json_response(http::status::ok, {{"requests", std::move(rows)}});
}

}  // namespace edgeway::admin
