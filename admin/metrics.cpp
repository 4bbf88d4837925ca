#include "admin/metrics.hpp"

#include <fmt/format.h>

#include <map>
#include <tuple>

namespace edgeway::admin {
namespace {

namespace tele = edgeway::telemetry;

void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

// Several links may share a peer and name (a core with two links to one edge): one series
// each, summed, so the exposition never repeats a label set (Prometheus refuses such a scrape).
struct LinkTotals {
    std::map<tele::LinkState, int> states;
    std::uint64_t streams_open = 0, streams_total = 0, bytes_in = 0, bytes_out = 0;
};

void render_links(std::string& out, const std::vector<tele::LinkStatus>& links) {
    std::map<std::pair<std::string, std::string>, LinkTotals> totals;
    for (const auto& link : links) {
        LinkTotals& entry = totals[{link.peer, link.name}];
        ++entry.states[link.state];
        entry.streams_open += link.streams_open;
        entry.streams_total += link.streams_total;
        entry.bytes_in += link.bytes_in;
        entry.bytes_out += link.bytes_out;
    }
    auto labels = [](const std::pair<std::string, std::string>& key) {
        return fmt::format("peer=\"{}\",name=\"{}\"", escape_label_value(key.first),
                           escape_label_value(key.second));
    };
    family(out, "edgeway_link_up", "gauge", "Traversal links to this peer that are Active.");
    for (const auto& [key, entry] : totals) {
        const auto active = entry.states.find(tele::LinkState::active);
        fmt::format_to(std::back_inserter(out), "edgeway_link_up{{{}}} {}\n", labels(key),
                       active == entry.states.end() ? 0 : active->second);
    }
    family(out, "edgeway_link_state", "gauge",
           "Traversal links to this peer in each state (Active, Connecting, Failed).");
    for (const auto& [key, entry] : totals)
        for (const auto state :
             {tele::LinkState::active, tele::LinkState::connecting, tele::LinkState::failed}) {
            const auto it = entry.states.find(state);
            fmt::format_to(std::back_inserter(out), "edgeway_link_state{{{},state=\"{}\"}} {}\n",
                           labels(key), tele::to_string(state),
                           it == entry.states.end() ? 0 : it->second);
        }
    family(out, "edgeway_link_streams_open", "gauge", "Streams open on the traversal link.");
    for (const auto& [key, entry] : totals)
        fmt::format_to(std::back_inserter(out), "edgeway_link_streams_open{{{}}} {}\n", labels(key),
                       entry.streams_open);
    family(out, "edgeway_link_streams_total", "counter",
           "Streams opened on the traversal link since it was set up.");
    for (const auto& [key, entry] : totals)
        fmt::format_to(std::back_inserter(out), "edgeway_link_streams_total{{{}}} {}\n",
                       labels(key), entry.streams_total);
    family(out, "edgeway_link_bytes_total", "counter",
           "Bytes over the traversal link, from (in) and to (out) the peer.");
    for (const auto& [key, entry] : totals) {
        fmt::format_to(std::back_inserter(out),
                       "edgeway_link_bytes_total{{{},direction=\"in\"}} {}\n", labels(key),
                       entry.bytes_in);
        fmt::format_to(std::back_inserter(out),
                       "edgeway_link_bytes_total{{{},direction=\"out\"}} {}\n", labels(key),
                       entry.bytes_out);
    }
}

void render_requests(std::string& out, const tele::RequestCounters& counters) {
    family(out, "edgeway_requests_total", "counter", "Requests answered, by HTTP status.");
    for (const auto& [status, count] : counters.by_status)
        fmt::format_to(std::back_inserter(out), "edgeway_requests_total{{status=\"{}\"}} {}\n",
                       status, count);
    family(out, "edgeway_refused_total", "counter", "Requests refused, by reason.");
    for (const auto& [reason, count] : counters.refused_by_reason)
        fmt::format_to(std::back_inserter(out), "edgeway_refused_total{{reason=\"{}\"}} {}\n",
                       escape_label_value(reason), count);
    family(out, "edgeway_request_bytes_total", "counter",
           "Body bytes from (in) and to (out) the clients.");
    fmt::format_to(std::back_inserter(out),
                   "edgeway_request_bytes_total{{direction=\"in\"}} {}\n"
                   "edgeway_request_bytes_total{{direction=\"out\"}} {}\n",
                   counters.bytes_in, counters.bytes_out);
}

}  // namespace

std::string escape_label_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (const char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out.push_back(c);
    }
    return out;
}

std::string render_metrics(const Hooks& hooks) {
    std::string out;
    if (hooks.requests) render_requests(out, hooks.requests->counters());
    if (hooks.links) render_links(out, hooks.links());
    if (hooks.relay) {
        family(out, "edgeway_relay_allocations", "gauge", "TURN allocations in progress.");
        fmt::format_to(std::back_inserter(out), "edgeway_relay_allocations {}\n",
                       hooks.relay().size());
    }
    return out;
}

}  // namespace edgeway::admin
