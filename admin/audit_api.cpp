#include "admin/audit_api.hpp"

#include "admin/query.hpp"

#include <algorithm>

namespace edgeway::admin {
namespace {

constexpr std::int64_t kMaxAuditRows = 1000;

// The client address at the end of a rule-store actor name ("admin:bob from 192.0.2.7").
std::string client_of(std::string_view who) {
    constexpr std::string_view marker = " from ";
    const auto at = who.rfind(marker);
    return at == std::string_view::npos ? std::string() : std::string(who.substr(at + 6));
}

}  // namespace

void record_change(AdminState& state, Logger& log, const ChangeAuthor& author,
                   std::string_view action, std::string_view detail) {
    state.accounts.audit(
        {0, "", "admin:" + author.user, author.client, std::string(action), std::string(detail)});
    log.info("{}: {} {}", author.actor(), action, detail);
}

Response audit_list(AdminState& state, std::string_view query) {
    std::size_t limit = 100;
    const auto parameters = parse_query(query);
    if (!parameters)
        return error_response(http::status::unprocessable_entity,
                              "The query string has an invalid escape.", "query");
    for (const auto& [name, value] : *parameters) {
        if (name != "limit")
            return error_response(http::status::unprocessable_entity,
                                  "Unknown parameter \"" + name + "\" (known: limit).", name);
        const auto parsed = parse_integer(value, 1, kMaxAuditRows);
        if (!parsed)
            return error_response(http::status::unprocessable_entity,
                                  "limit: expected an integer from 1 to 1000", "limit");
        limit = static_cast<std::size_t>(*parsed);
    }
    std::vector<json> entries;
    if (state.rules)
        for (const auto& entry : state.rules->audit(limit))
            entries.push_back({{"id", entry.id},
                               {"source", "rules"},
                               {"at", entry.at},
                               {"who", entry.who},
                               {"client", client_of(entry.who)},
                               {"action", entry.action},
                               {"detail", entry.detail}});
    for (const auto& entry : state.accounts.audit_log(limit))
        entries.push_back({{"id", entry.id},
                           {"source", "admin"},
                           {"at", entry.at},
                           {"who", entry.who + " from " + entry.client},
                           {"client", entry.client},
                           {"action", entry.action},
                           {"detail", entry.detail}});
    // Both sources are newest first with second-resolution times; a stable sort keeps each
    // source's own order within a second.
    std::stable_sort(entries.begin(), entries.end(), [](const json& a, const json& b) {
        return a["at"].get<std::string>() > b["at"].get<std::string>();
    });
    if (entries.size() > limit) entries.resize(limit);
    return json_response(http::status::ok, {{"entries", entries}});
}

}  // namespace edgeway::admin
