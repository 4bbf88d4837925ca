#include "admin/cluster_status.hpp"

#include <algorithm>

namespace edgeway::admin {
namespace {

json store_to_json(const cluster::StoreHealth& store) {
    json endpoints = json::array();
    for (const auto& member : store.endpoints)
        endpoints.push_back({{"url", member.url},
                             {"healthy", member.healthy},
                             {"leader", member.leader},
                             {"revision", member.revision},
                             {"version", member.version},
                             {"error", member.error}});
    return {{"backend", store.backend},
            {"healthy", store.healthy},
            {"endpoints", std::move(endpoints)},
            {"revision", store.revision},
            {"last_error", store.last_error}};
}

// Every edge some core has in its list, in the order first met, and the cores linked to it.
json edges_to_json(const std::vector<cluster::KnownCore>& cores) {
    json edges = json::array();
    for (const auto& core : cores)
        for (const auto& link : core.member.links) {
            auto it = std::find_if(edges.begin(), edges.end(),
                                   [&](const json& e) { return e["address"] == link.edge; });
            if (it == edges.end()) {
                edges.push_back(json::object({{"address", link.edge},
                                              {"name", link.name},
                                              {"cores", json::array()},
                                              {"cores_up", json::array()}}));
                it = edges.end() - 1;
            }
            (*it)["cores"].push_back(core.member.id);
            if (link.state == "up" && !core.lost) (*it)["cores_up"].push_back(core.member.id);
        }
    return edges;
}

}  // namespace

json cluster_to_json(const cluster::View& view) {
    json cores = json::array(), links = json::array();
    for (const auto& core : view.cores) {
        json record = cluster::to_json(core.member);
        record["self"] = core.self;
        record["stale"] = core.stale;
        record["lost"] = core.lost;
        record["last_seen"] = core.last_seen;
        cores.push_back(std::move(record));
        for (const auto& link : core.member.links)
            links.push_back({{"core", core.member.id},
                             // A lost core's last record says nothing of now.
                             {"state", core.lost ? "unknown" : link.state},
                             {"edge", link.edge},
                             {"since", link.since},
                             {"last_error", link.last_error},
                             {"links_up", core.lost ? 0u : link.links_up},
                             {"links", link.links},
                             {"streams_open", core.lost ? 0u : link.streams_open},
                             {"requests", link.requests}});
    }
    return {{"store", store_to_json(view.store)},
            {"cores", std::move(cores)},
            {"edges", edges_to_json(view.cores)},
            {"links", std::move(links)}};
}

}  // namespace edgeway::admin
