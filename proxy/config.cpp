// Reading the edge and core configuration files. Every error names the file, the field (as a
// dotted path) and what was expected; unknown fields are errors too, since a typo in a field
// name would otherwise silently leave a default in place.
#include "proxy/proxy.hpp"

#include "allowlist/allowlist.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

namespace edgeway::proxy {
namespace {

using json = nlohmann::json;

// Walks one JSON object, remembering which fields were read so the rest can be reported.
class Fields {
  public:
    Fields(const json& object, std::string path, const std::filesystem::path& file)
        : object_(object), path_(std::move(path)), file_(file) {
        if (!object_.is_object()) fail(path_.empty() ? "(top level)" : path_, "an object");
    }

    [[noreturn]] void fail(const std::string& field, const std::string& expected) const {
        throw ConfigError(file_.string() + ": field \"" + field + "\": expected " + expected);
    }

    const json* find(const std::string& name) {
        seen_.insert(name);
        auto it = object_.find(name);
        return it == object_.end() || it->is_null() ? nullptr : &*it;
    }

    std::string name(const std::string& field) const {
        return path_.empty() ? field : path_ + "." + field;
    }

    void text(const std::string& field, std::string& out, bool required = false) {
        if (const json* v = find(field)) {
            if (!v->is_string()) fail(name(field), "a string");
            out = v->get<std::string>();
        } else if (required) {
            fail(name(field), "a string (required)");
        }
    }

    void path(const std::string& field, std::filesystem::path& out, bool required) {
        std::string value;
        text(field, value, required);
        if (value.empty()) {
            if (required) fail(name(field), "a file path (required)");
            return;
        }
        std::filesystem::path p(value);
        out = p.is_absolute() ? p : file_.parent_path() / p;
    }

    template <typename Int>
    void integer(const std::string& field, Int& out, std::uint64_t min, std::uint64_t max) {
        if (const json* v = find(field)) {
            if (!v->is_number_integer() || v->get<std::int64_t>() < 0 ||
                v->get<std::uint64_t>() < min || v->get<std::uint64_t>() > max)
                fail(name(field),
                     "an integer from " + std::to_string(min) + " to " + std::to_string(max));
            out = static_cast<Int>(v->get<std::uint64_t>());
        }
    }

    void millis(const std::string& field, Millis& out, std::uint64_t min = 1,
                std::uint64_t max = 24ull * 3600 * 1000) {
        std::uint64_t value = static_cast<std::uint64_t>(out.count());
        integer(field, value, min, max);
        out = Millis(value);
    }

    void boolean(const std::string& field, bool& out) {
        if (const json* v = find(field)) {
            if (!v->is_boolean()) fail(name(field), "true or false");
            out = v->get<bool>();
        }
    }

    void log_level(LogLevel& out) {
        std::string value;
        text("log_level", value);
        if (!value.empty() && !parse_log_level(value, out))
            fail(name("log_level"), "one of debug, info, warn, error");
    }

    std::vector<std::string> strings(const std::string& field) {
        std::vector<std::string> out;
        if (const json* v = find(field)) {
            if (!v->is_array()) fail(name(field), "an array of strings");
            for (const auto& item : *v) {
                if (!item.is_string() || item.get<std::string>().empty())
                    fail(name(field), "an array of non-empty strings");
                out.push_back(item.get<std::string>());
            }
        }
        return out;
    }

    // A nested object, or an empty one when the field is absent.
    Fields object(const std::string& field) {
        static const json empty = json::object();
        const json* v = find(field);
        return Fields(v ? *v : empty, name(field), file_);
    }

    // Call last: any field not read is an error.
    void no_others() const {
        for (auto it = object_.begin(); it != object_.end(); ++it)
            if (!seen_.count(it.key())) fail(name(it.key()), "no such field (unknown field)");
    }

    const json& raw() const { return object_; }
    const std::filesystem::path& file() const { return file_; }

  private:
    const json& object_;
    std::string path_;
    const std::filesystem::path& file_;
    std::set<std::string> seen_;
};

json parse_file(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) throw ConfigError(file.string() + ": cannot open the configuration file");
    std::stringstream text;
    text << in.rdbuf();
    try {
        return json::parse(text.str(), nullptr, true, /*ignore_comments=*/true);
    } catch (const json::parse_error& e) {
        // nlohmann reports "at line L, column C"; keep that, drop its exception prefix.
        std::string what = e.what();
        const auto pos = what.find("] ");
        throw ConfigError(file.string() + ": not valid JSON: " +
                          (pos == std::string::npos ? what : what.substr(pos + 2)));
    }
}

// "host:port" or "[v6]:port" with a port from 0 to 65535.
void check_address(Fields& fields, const std::string& field, const std::string& value,
                   bool allow_empty) {
    if (value.empty() && allow_empty) return;
    const auto colon = value.rfind(':');
    bool ok = colon != std::string::npos && colon > 0 && colon + 1 < value.size();
    if (ok) {
        const std::string port = value.substr(colon + 1);
        ok = port.size() <= 5 && port.find_first_not_of("0123456789") == std::string::npos &&
             std::stoul(port) <= 65535;
    }
    if (!ok) fields.fail(fields.name(field), "an address as host:port (for example 0.0.0.0:443)");
}

void read_link_timing(Fields fields, LinkTiming& timing, bool dialler) {
    fields.millis("ping_interval_ms", timing.ping_interval, 100, 60000);
    fields.millis("dead_after_ms", timing.dead_after, 200, 300000);
    if (dialler) {
        fields.millis("reconnect_min_ms", timing.reconnect_min, 10, 600000);
        fields.millis("reconnect_max_ms", timing.reconnect_max, 10, 3600000);
        if (timing.reconnect_max < timing.reconnect_min)
            fields.fail(fields.name("reconnect_max_ms"), "a value not below reconnect_min_ms");
    }
    if (timing.dead_after <= timing.ping_interval)
        fields.fail(fields.name("dead_after_ms"), "a value above ping_interval_ms");
    fields.no_others();
}

// The "drain" object of either role.
void read_drain(Fields fields, DrainSettings& drain) {
    fields.millis("deadline_ms", drain.deadline, 0, 3600ull * 1000);
    fields.no_others();
}

}  // namespace

namespace {

// The edge's "turn" object; absent or "enabled": false: no relay. Listen lists may be empty
// (no UDP, or no TCP, listener); relay_ports is "MIN-MAX".
std::optional<turn::Config> read_turn(Fields& top, const std::filesystem::path& state_directory) {
    if (!top.find("turn")) return std::nullopt;
    Fields fields = top.object("turn");
    bool enabled = true;
    fields.boolean("enabled", enabled);
    turn::Config config;
    config.state_directory = state_directory;
    if (fields.find("udp_listen")) config.udp_listen = fields.strings("udp_listen");
    if (fields.find("tcp_listen")) config.tcp_listen = fields.strings("tcp_listen");
    for (const auto& address : config.udp_listen)
        check_address(fields, "udp_listen", address, false);
    for (const auto& address : config.tcp_listen)
        check_address(fields, "tcp_listen", address, false);
    fields.text("relay_address", config.relay_address);
    std::string ports;
    fields.text("relay_ports", ports);
    if (!ports.empty()) {
        unsigned min = 0, max = 0;
        char dash = 0, rest = 0;
        const int n = std::sscanf(ports.c_str(), "%u%c%u%c", &min, &dash, &max, &rest);
        if (n != 3 || dash != '-' || min == 0 || max > 65535 || min > max)
            fields.fail(fields.name("relay_ports"), "a port range MIN-MAX such as 24000-29999");
        config.relay_port_min = static_cast<std::uint16_t>(min);
        config.relay_port_max = static_cast<std::uint16_t>(max);
    }
    fields.text("external_address", config.external_address);
    fields.text("realm", config.realm);
    if (config.realm.empty()) fields.fail(fields.name("realm"), "a non-empty realm");
    std::string credentials = "local";
    fields.text("credentials", credentials);
    if (credentials == "pushed")
        config.credentials = turn::Credentials::pushed;
    else if (credentials != "local")
        fields.fail(fields.name("credentials"),
                    "\"local\" (this edge's turn.db, the default) or \"pushed\" (sent by the "
                    "cores over the links)");
    config.allowed_peer_ranges = fields.strings("allowed_peer_ranges");
    fields.integer("max_allocations", config.max_allocations, 1, 1000000);
    fields.integer("max_allocations_per_user", config.max_allocations_per_user, 1, 1000000);
    fields.integer("max_packets_per_second", config.max_packets_per_second, 1, 10000000);
    fields.integer("max_bytes_per_second", config.max_bytes_per_second, 1000,
                   std::uint64_t{1} << 40);
    fields.millis("default_lifetime_ms", config.default_lifetime, 1000);
    fields.millis("max_lifetime_ms", config.max_lifetime, 1000);
    fields.millis("nonce_lifetime_ms", config.nonce_lifetime, 1000);
    fields.no_others();
    if (!enabled) return std::nullopt;
    return config;
}

// The core's "state" object: {"backend": "sqlite"} (the default) or {"backend": "etcd",
// "endpoints": [...], "prefix": "/edgeway/", "timeout_ms": 2000, "tls": {...}}.
state::Config read_state(Fields& top) {
    state::Config config;
    if (!top.find("state")) return config;
    Fields fields = top.object("state");
    std::string backend = "sqlite";
    fields.text("backend", backend);
    if (backend == "sqlite") {
        fields.no_others();
        return config;
    }
    if (backend != "etcd") fields.fail(fields.name("backend"), "\"sqlite\" or \"etcd\"");
    config.backend = state::Backend::etcd;
    state::EtcdOptions& etcd = config.etcd;
    etcd.endpoints = fields.strings("endpoints");
    if (etcd.endpoints.empty())
        fields.fail(fields.name("endpoints"),
                    "a non-empty array of etcd client URLs such as \"http://10.0.0.5:2379\" "
                    "(required with backend etcd)");
    for (const auto& url : etcd.endpoints) {
        const bool scheme = url.starts_with("http://") || url.starts_with("https://");
        const auto rest = std::string_view(url).substr(url.find("//") + 2);
        const auto colon = rest.rfind(':');
        const bool port =
            colon != std::string_view::npos && colon + 1 < rest.size() &&
            rest.substr(colon + 1).find_first_not_of("0123456789/") == std::string_view::npos;
        if (!scheme || !port)
            fields.fail(
                fields.name("endpoints"),
                "etcd client URLs as http://HOST:PORT or https://HOST:PORT, not \"" + url + "\"");
    }
    fields.text("prefix", etcd.prefix);
    if (etcd.prefix.empty() || etcd.prefix.back() != '/')
        fields.fail(fields.name("prefix"), "a key prefix ending in '/', such as \"/edgeway/\"");
    fields.millis("timeout_ms", etcd.timeout, 100, 60000);
    if (fields.find("tls")) {
        Fields tls = fields.object("tls");
        tls.path("ca", etcd.ca_file, false);
        tls.path("certificate", etcd.certificate_file, false);
        tls.path("private_key", etcd.private_key_file, false);
        if (etcd.certificate_file.empty() != etcd.private_key_file.empty())
            tls.fail(tls.name(etcd.certificate_file.empty() ? "certificate" : "private_key"),
                     "a file path (certificate and private_key go together)");
        tls.no_others();
    }
    fields.no_others();
    return config;
}

// The "admin" object of either role; absent: no admin listener.
std::optional<AdminListenerConfig> read_admin(Fields& top) {
    if (!top.find("admin")) return std::nullopt;
    Fields admin = top.object("admin");
    AdminListenerConfig listener;
    admin.text("listen", listener.listen);
    check_address(admin, "listen", listener.listen, false);
    admin.path("certificate", listener.certificate, true);
    admin.path("private_key", listener.private_key, true);
    admin.no_others();
    return listener;
}

}  // namespace

EdgeConfig load_edge_config(const std::filesystem::path& file) {
    const json doc = parse_file(file);
    EdgeConfig config;
    config.source = file;
    Fields top(doc, "", file);
    top.log_level(config.log_level);
    top.integer("workers", config.workers, 1, 64);

    Fields listen = top.object("listen");
    listen.text("https", config.listen_https);
    check_address(listen, "https", config.listen_https, false);
    listen.text("http_redirect", config.listen_http_redirect);
    check_address(listen, "http_redirect", config.listen_http_redirect, true);
    listen.text("link", config.listen_link);
    check_address(listen, "link", config.listen_link, false);
    listen.no_others();

    if (top.find("public_https_port")) {
        std::uint16_t port = 443;
        top.integer("public_https_port", port, 1, 65535);
        config.public_https_port = port;
    }

    Fields tls = top.object("tls");
    tls.path("certificate", config.certificate, true);
    tls.path("private_key", config.private_key, true);
    tls.no_others();

    Fields link_tls = top.object("link_tls");
    link_tls.path("certificate", config.link_certificate, true);
    link_tls.path("private_key", config.link_private_key, true);
    link_tls.path("client_ca", config.link_client_ca, true);
    link_tls.no_others();

    Fields limits = top.object("limits");
    limits.integer("max_header_bytes", config.limits.max_header_bytes, 1024, 1024 * 1024);
    limits.integer("max_body_bytes", config.limits.max_body_bytes, 0, std::uint64_t{1} << 50);
    limits.millis("header_timeout_ms", config.limits.header_timeout, 100);
    limits.millis("keepalive_timeout_ms", config.limits.keepalive_timeout, 100);
    limits.millis("handshake_timeout_ms", config.limits.handshake_timeout, 100);
    limits.millis("io_timeout_ms", config.limits.io_timeout, 100);
    limits.no_others();

    read_link_timing(top.object("link"), config.link, false);
    read_drain(top.object("drain"), config.drain);
    top.path("state_directory", config.state_directory, false);
    config.admin = read_admin(top);
    config.turn = read_turn(top, config.state_directory);
    top.no_others();
    return config;
}

CoreConfig load_core_config(const std::filesystem::path& file) {
    const json doc = parse_file(file);
    CoreConfig config;
    config.source = file;
    Fields top(doc, "", file);
    top.log_level(config.log_level);
    top.integer("workers", config.workers, 1, 64);

    // One guest account client URI (join URL) or several: their hosts get automatic rules.
    const json* join = top.find("join_url");
    if (join && join->is_string())
        config.join_urls = {join->get<std::string>()};
    else
        config.join_urls = top.strings("join_url");
    if (config.join_urls.empty())
        top.fail("join_url", "an https:// URL or a non-empty array of them (required)");
    for (const auto& url : config.join_urls) {
        try {
            allowlist::parse_join_uri(url);
        } catch (const allowlist::RuleError& e) {
            top.fail("join_url", std::string("an https:// URL: ") + e.what());
        }
    }
    top.path("state_directory", config.state_directory, false);
    top.text("node_name", config.node_name);
    top.path("hosts_file", config.hosts_file, false);
    top.millis("discovery_interval_ms", config.discovery_interval, 100);

    const json* edges = top.find("edges");
    if (!edges || !edges->is_array() || edges->empty())
        top.fail("edges",
                 "a non-empty array of {\"address\": \"host:port\", \"server_name\": ...}");
    for (std::size_t i = 0; i < edges->size(); ++i) {
        Fields edge((*edges)[i], "edges[" + std::to_string(i) + "]", file);
        EdgeTarget target;
        edge.text("address", target.address, true);
        check_address(edge, "address", target.address, false);
        edge.text("server_name", target.server_name);
        if (target.server_name.empty()) {
            target.server_name = target.address.substr(0, target.address.rfind(':'));
            if (target.server_name.size() > 1 && target.server_name.front() == '[')
                target.server_name = target.server_name.substr(1, target.server_name.size() - 2);
        }
        edge.no_others();
        config.edges.push_back(std::move(target));
    }
    config.links_per_edge = config.workers;
    top.integer("links_per_edge", config.links_per_edge, 1, 64);

    Fields link_tls = top.object("link_tls");
    link_tls.path("certificate", config.link_certificate, true);
    link_tls.path("private_key", config.link_private_key, true);
    link_tls.path("edge_ca", config.edge_ca, true);
    link_tls.no_others();

    Fields webbridge_tls = top.object("webbridge_tls");
    webbridge_tls.path("ca", config.webbridge_ca, false);
    webbridge_tls.boolean("insecure_skip_verify", config.webbridge_insecure);
    webbridge_tls.no_others();

    if (const json* resolve = top.find("resolve")) {
        if (!resolve->is_object())
            top.fail("resolve", "an object of host -> \"address:port\" (or an array of them)");
        Fields entries(*resolve, "resolve", file);
        for (auto it = resolve->begin(); it != resolve->end(); ++it) {
            // One web bridge ("10.0.0.5:443") or several (["10.0.0.5:443", "10.0.0.6:443"]).
            const bool several = it->is_array();
            if (several && it->empty())
                entries.fail(entries.name(it.key()), "a non-empty array of \"address:port\"");
            std::string host = it.key();
            for (auto& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            const json& list = several ? *it : json::array({*it});
            for (std::size_t i = 0; i < list.size(); ++i) {
                const std::string label = several ? fmt::format("{}[{}]", it.key(), i) : it.key();
                if (!list[i].is_string())
                    entries.fail(entries.name(label), "a string \"address:port\"");
                const std::string target = list[i].get<std::string>();
                check_address(entries, label, target, false);
                config.resolve[host].push_back(target);
            }
        }
    }

    read_link_timing(top.object("link"), config.link, true);
    read_drain(top.object("drain"), config.drain);

    Fields upstream = top.object("upstream");
    upstream.millis("connect_timeout_ms", config.upstream_connect_timeout, 100);
    upstream.millis("response_timeout_ms", config.upstream_response_timeout, 100);
    upstream.millis("health_check_interval_ms", config.upstream_health_check_interval, 100, 600000);
    upstream.text("health_check_path", config.upstream_health_check_path);
    const std::string& check_path = config.upstream_health_check_path;
    if (!check_path.empty() &&
        (check_path.front() != '/' || check_path.find_first_of(" \t\r\n") != std::string::npos))
        upstream.fail(upstream.name("health_check_path"),
                      "a path starting with / and without spaces (for example /health)");
    upstream.no_others();

    config.admin = read_admin(top);
    config.state = read_state(top);
    // The realm of the TURN users administered on this core (their keys depend on it): the
    // realm of the edges' relays that take the credentials it pushes.
    if (top.find("turn")) {
        Fields turn = top.object("turn");
        turn.text("realm", config.turn_realm);
        if (config.turn_realm.empty()) turn.fail(turn.name("realm"), "a non-empty realm");
        turn.no_others();
    }
    top.no_others();
    return config;
}

}  // namespace edgeway::proxy
