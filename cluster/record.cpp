// The member record: a core's links summed up per edge, and the JSON it is stored as.
#include "cluster/cluster.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <stdexcept>

namespace edgeway::cluster {

using json = nlohmann::json;
using telemetry::LinkState;

namespace {

// The order in which one edge's links name its state: one link up is enough.
int rank(LinkState state) {
    switch (state) {
        case LinkState::active:
            return 0;
        case LinkState::connecting:
            return 1;
        case LinkState::failed:
            break;
    }
    return 2;
}

const char* state_word(LinkState state) {
    static constexpr const char* kWords[] = {"up", "connecting", "down"};
    return kWords[rank(state)];
}

}  // namespace

std::vector<EdgeLinks> summarize(const std::vector<telemetry::LinkStatus>& links) {
    struct Sum {
        EdgeLinks out;
        std::optional<LinkState> state;
        Clock::time_point since;
    };
    std::vector<Sum> sums;
    for (const auto& link : links) {
        auto it = std::find_if(sums.begin(), sums.end(),
                               [&](const Sum& sum) { return sum.out.edge == link.peer; });
        if (it == sums.end()) {
            it = sums.insert(sums.end(), Sum{});
            it->out.edge = link.peer;
            it->out.name = link.name;
        }
        EdgeLinks& out = it->out;
        ++out.links;
        out.links_up += link.state == LinkState::active;
        out.streams_open += link.streams_open;
        out.requests += link.streams_total;
        if (!link.reason.empty()) out.last_error = link.reason;
        if (!it->state || rank(link.state) < rank(*it->state)) {
            it->state = link.state;
            it->since = link.since;
        } else if (link.state == *it->state && link.since < it->since) {
            it->since = link.since;
        }
    }
    std::vector<EdgeLinks> result;
    for (auto& sum : sums) {
        sum.out.state = state_word(*sum.state);
        sum.out.since = telemetry::iso8601(sum.since);
        result.push_back(std::move(sum.out));
    }
    return result;
}

json to_json(const Member& member) {
    json links = json::array();
    for (const auto& l : member.links)
        links.push_back({{"edge", l.edge},
                         {"name", l.name},
                         {"state", l.state},
                         {"since", l.since},
                         {"last_error", l.last_error},
                         {"links_up", l.links_up},
                         {"links", l.links},
                         {"streams_open", l.streams_open},
                         {"requests", l.requests}});
    return {{"id", member.id},           {"name", member.name},
            {"version", member.version}, {"admin_url", member.admin_url},
            {"state", member.state},     {"started", member.started},
            {"updated", member.updated}, {"links", std::move(links)}};
}

Member member_from_json(const json& record) {
    try {
        Member member;
        member.id = record.at("id").get<std::string>();
        member.name = record.at("name").get<std::string>();
        member.version = record.value("version", "");
        member.admin_url = record.value("admin_url", "");
        member.state = record.value("state", "serving");
        member.started = record.value("started", "");
        member.updated = record.value("updated", "");
        for (const auto& l : record.value("links", json::array()))
            member.links.push_back({l.at("edge").get<std::string>(), l.value("name", ""),
                                    l.value("state", "down"), l.value("since", ""),
                                    l.value("last_error", ""), l.value("links_up", 0u),
                                    l.value("links", 0u), l.value("streams_open", std::uint64_t{0}),
                                    l.value("requests", std::uint64_t{0})});
        return member;
    } catch (const json::exception& e) {
        throw std::runtime_error(std::string("not a member record: ") + e.what());
    }
}

std::string member_id(const std::string& name) {
    std::string id = name;
    for (char& c : id)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_')
            c = '_';
    return id.empty() ? "_" : id;
}

}  // namespace edgeway::cluster
