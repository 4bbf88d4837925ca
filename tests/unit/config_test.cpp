// Unit tests for reading the edge and core configuration files: defaults, relative paths and
// the error messages that name the file, the field and what was expected.
#include "tests/support/temp_dir.hpp"

#include "proxy/proxy.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using namespace edgeway;
namespace fs = std::filesystem;

namespace {

fs::path write(const test::TempDir& dir, const std::string& name, const std::string& text) {
    const fs::path file = dir.path() / name;
    std::ofstream(file) << text;
    return file;
}

const std::string kEdge = R"({
  // a comment, as the examples have
  "listen": {"https": "127.0.0.1:0", "http_redirect": "", "link": "127.0.0.1:0"},
  "tls": {"certificate": "edge.pem", "private_key": "edge.key"},
  "link_tls": {"certificate": "link.pem", "private_key": "link.key", "client_ca": "/abs/ca.pem"},
  "workers": 1
})";

const std::string kCore = R"({
  "join_url": "https://Join.Example.com:8443/meeting",
  "edges": [{"address": "edge1.example.com:7443"}],
  "link_tls": {"certificate": "core.pem", "private_key": "core.key", "edge_ca": "ca.pem"}
})";

std::string error_of(const std::function<void()>& load) {
    try {
        load();
    } catch (const proxy::ConfigError& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("edge config: defaults and paths relative to the file", "[unit][config]") {
    test::TempDir dir("config");
    const auto config = proxy::load_edge_config(write(dir, "edge.json", kEdge));
    CHECK(config.certificate == dir.path() / "edge.pem");
    CHECK(config.link_client_ca == fs::path("/abs/ca.pem"));
    CHECK(config.listen_http_redirect.empty());
    CHECK(config.limits.max_header_bytes == 16 * 1024);
    CHECK(config.limits.header_timeout == std::chrono::milliseconds(10000));
    CHECK(config.link.dead_after < std::chrono::milliseconds(10000));
}

TEST_CASE("core config: join URL, state directory, server name from the address",
          "[unit][config]") {
    test::TempDir dir("config");
    const auto config = proxy::load_core_config(write(dir, "core.json", kCore));
    CHECK(config.join_urls == std::vector<std::string>{"https://Join.Example.com:8443/meeting"});
    CHECK(config.state_directory == fs::path("/var/lib/edgeway/core"));
    CHECK(config.hosts_file.empty());
    CHECK(config.discovery_interval == std::chrono::milliseconds(30000));
    REQUIRE(config.edges.size() == 1);
    CHECK(config.edges[0].server_name == "edge1.example.com");
    CHECK(config.links_per_edge == config.workers);
    CHECK_FALSE(config.webbridge_insecure);

    std::string several = kCore;
    several.replace(several.find(R"("https://Join.Example.com:8443/meeting")"),
                    std::string(R"("https://Join.Example.com:8443/meeting")").size(),
                    R"(["https://a.example.com/", "https://b.example.com:8443/"],
                       "state_directory": "state", "hosts_file": "lab-hosts",
                       "discovery_interval_ms": 500)");
    const auto multi = proxy::load_core_config(write(dir, "multi.json", several));
    CHECK(multi.join_urls.size() == 2);
    CHECK(multi.state_directory == dir.path() / "state");
    CHECK(multi.hosts_file == dir.path() / "lab-hosts");
    CHECK(multi.discovery_interval == std::chrono::milliseconds(500));
}

TEST_CASE("config errors name the file, the field and what was expected", "[unit][config]") {
    test::TempDir dir("config");
    auto edge_with = [&](const std::string& from, const std::string& to) {
        std::string text = kEdge;
        const auto pos = text.find(from);
        REQUIRE(pos != std::string::npos);
        text.replace(pos, from.size(), to);
        const fs::path file = write(dir, "edge.json", text);
        return error_of([&] { proxy::load_edge_config(file); });
    };

    const std::string wrong_type = edge_with(R"("workers": 1)", R"("workers": "two")");
    CHECK_THAT(wrong_type, Catch::Contains("edge.json") && Catch::Contains("\"workers\"") &&
                               Catch::Contains("expected an integer"));

    const std::string nested =
        edge_with(R"("listen": {)", R"("limits": {"max_header_bytes": -1}, "listen": {)");
    CHECK_THAT(nested, Catch::Contains("\"limits.max_header_bytes\""));

    // join_hosts was a field before the allow list existed; it is refused like any unknown one.
    const std::string unknown = edge_with(R"("workers": 1)", R"("join_hosts": [], "workers": 1)");
    CHECK_THAT(unknown, Catch::Contains("\"join_hosts\"") && Catch::Contains("unknown field"));

    const std::string address = edge_with(R"("https": "127.0.0.1:0")", R"("https": "nowhere")");
    CHECK_THAT(address, Catch::Contains("\"listen.https\"") && Catch::Contains("host:port"));

    const std::string missing = edge_with(R"("certificate": "edge.pem", )", "");
    CHECK_THAT(missing, Catch::Contains("\"tls.certificate\"") && Catch::Contains("required"));

    const fs::path broken = write(dir, "broken.json", "{\n  \"workers\": 1,\n  oops\n}");
    CHECK_THAT(error_of([&] { proxy::load_edge_config(broken); }),
               Catch::Contains("broken.json") && Catch::Contains("line 3"));

    CHECK_THAT(error_of([&] { proxy::load_edge_config(dir.path() / "absent.json"); }),
               Catch::Contains("absent.json") && Catch::Contains("cannot open"));
}

TEST_CASE("drain.deadline_ms: 30 s by default, read on both roles, errors name the field",
          "[unit][config]") {
    test::TempDir dir("config");
    CHECK(proxy::load_edge_config(write(dir, "edge.json", kEdge)).drain.deadline ==
          std::chrono::milliseconds(30000));
    CHECK(proxy::load_core_config(write(dir, "core.json", kCore)).drain.deadline ==
          std::chrono::milliseconds(30000));

    auto with_drain = [&](const std::string& text, const std::string& name,
                          const std::string& drain) {
        std::string patched = text;
        patched.insert(patched.find('{') + 1, "\"drain\": " + drain + ",");
        return write(dir, name, patched);
    };
    CHECK(proxy::load_core_config(with_drain(kCore, "core.json", R"({"deadline_ms": 0})"))
              .drain.deadline == std::chrono::milliseconds(0));
    CHECK(proxy::load_edge_config(with_drain(kEdge, "edge.json", R"({"deadline_ms": 5000})"))
              .drain.deadline == std::chrono::milliseconds(5000));

    const auto too_long = with_drain(kCore, "core.json", R"({"deadline_ms": 3600001})");
    CHECK(error_of([&] { proxy::load_core_config(too_long); }) ==
          too_long.string() +
              ": field \"drain.deadline_ms\": expected an integer from 0 to 3600000");
    const auto negative = with_drain(kEdge, "edge.json", R"({"deadline_ms": -1})");
    CHECK_THAT(error_of([&] { proxy::load_edge_config(negative); }),
               Catch::Contains("\"drain.deadline_ms\"") && Catch::Contains("0 to 3600000"));
    const auto typo = with_drain(kEdge, "edge.json", R"({"deadline": 5000})");
    CHECK_THAT(error_of([&] { proxy::load_edge_config(typo); }),
               Catch::Contains("\"drain.deadline\"") && Catch::Contains("unknown field"));
}

TEST_CASE("core config errors: join URL and edges", "[unit][config]") {
    test::TempDir dir("config");
    auto core_with = [&](const std::string& from, const std::string& to) {
        std::string text = kCore;
        text.replace(text.find(from), from.size(), to);
        const fs::path file = write(dir, "core.json", text);
        return error_of([&] { proxy::load_core_config(file); });
    };
    CHECK_THAT(core_with("https://Join.Example.com:8443/meeting", "http://join.example.com/"),
               Catch::Contains("\"join_url\"") && Catch::Contains("https://"));
    CHECK_THAT(core_with("8443", "99999"),
               Catch::Contains("\"join_url\"") && Catch::Contains("port"));
    CHECK_THAT(core_with(R"("https://Join.Example.com:8443/meeting")", "[]"),
               Catch::Contains("\"join_url\""));
    CHECK_THAT(core_with(R"([{"address": "edge1.example.com:7443"}])", "[]"),
               Catch::Contains("\"edges\""));
    CHECK_THAT(core_with(R"("edges")",
                         R"("link": {"ping_interval_ms": 5000, "dead_after_ms": 4000}, "edges")"),
               Catch::Contains("\"link.dead_after_ms\""));
}

TEST_CASE("core config: several web bridges in resolve, and the upstream health check",
          "[unit][config]") {
    test::TempDir dir("config");
    auto core_with = [&](const std::string& extra) {
        std::string text = kCore;
        text.replace(text.find(R"("edges")"), 7, extra + R"(, "edges")");
        return write(dir, "core.json", text);
    };
    const auto defaults = proxy::load_core_config(write(dir, "plain.json", kCore));
    CHECK(defaults.upstream_health_check_interval == std::chrono::milliseconds(2000));
    CHECK(defaults.upstream_health_check_path.empty());

    const auto config = proxy::load_core_config(core_with(
        R"("resolve": {"Join.Example.com": ["10.0.0.5:443", "10.0.0.6:443"],
                       "other.example.com": "10.0.0.9:8443"},
           "upstream": {"health_check_interval_ms": 500, "health_check_path": "/health"})"));
    CHECK(config.resolve.at("join.example.com") ==
          std::vector<std::string>{"10.0.0.5:443", "10.0.0.6:443"});
    CHECK(config.resolve.at("other.example.com") == std::vector<std::string>{"10.0.0.9:8443"});
    CHECK(config.upstream_health_check_interval == std::chrono::milliseconds(500));
    CHECK(config.upstream_health_check_path == "/health");

    auto error = [&](const std::string& extra) {
        const fs::path file = core_with(extra);
        return error_of([&] { proxy::load_core_config(file); });
    };
    CHECK_THAT(error(R"("resolve": {"join.example.com": ["10.0.0.5:443", "10.0.0.6"]})"),
               Catch::Contains("\"resolve.join.example.com[1]\"") && Catch::Contains("host:port"));
    CHECK_THAT(error(R"("resolve": {"join.example.com": []})"),
               Catch::Contains("\"resolve.join.example.com\"") && Catch::Contains("non-empty"));
    CHECK_THAT(error(R"("resolve": {"join.example.com": [443]})"),
               Catch::Contains("\"resolve.join.example.com[0]\"") && Catch::Contains("string"));
    CHECK_THAT(error(R"("upstream": {"health_check_interval_ms": 0})"),
               Catch::Contains("\"upstream.health_check_interval_ms\"") &&
                   Catch::Contains("from 100 to 600000"));
    CHECK_THAT(
        error(R"("upstream": {"health_check_path": "health"})"),
        Catch::Contains("\"upstream.health_check_path\"") && Catch::Contains("starting with /"));
    CHECK_THAT(error(R"("upstream": {"health_check": true})"),
               Catch::Contains("\"upstream.health_check\"") && Catch::Contains("unknown"));
}

TEST_CASE("core config: the admin listener, absent by default, with field-naming errors",
          "[unit][config][admin]") {
    test::TempDir dir("config");
    CHECK_FALSE(proxy::load_core_config(write(dir, "core.json", kCore)).admin);

    auto core_with_admin = [&](const std::string& admin) {
        std::string text = kCore;
        text.replace(text.find(R"("edges")"), 7, R"("admin": )" + admin + R"(, "edges")");
        return write(dir, "core.json", text);
    };
    const auto config = proxy::load_core_config(core_with_admin(
        R"({"listen": "127.0.0.1:0", "certificate": "admin.pem", "private_key": "/abs/admin.key"})"));
    REQUIRE(config.admin);
    CHECK(config.admin->listen == "127.0.0.1:0");
    CHECK(config.admin->certificate == dir.path() / "admin.pem");
    CHECK(config.admin->private_key == fs::path("/abs/admin.key"));
    CHECK(proxy::load_core_config(
              core_with_admin(R"({"certificate": "admin.pem", "private_key": "admin.key"})"))
              .admin->listen == "0.0.0.0:445");

    auto error_with = [&](const std::string& admin) {
        const fs::path file = core_with_admin(admin);
        return error_of([&] { proxy::load_core_config(file); });
    };
    CHECK_THAT(error_with(R"({"listen": "445", "certificate": "a.pem", "private_key": "a.key"})"),
               Catch::Contains("\"admin.listen\"") && Catch::Contains("host:port"));
    CHECK_THAT(error_with(R"({"listen": "127.0.0.1:445", "private_key": "a.key"})"),
               Catch::Contains("\"admin.certificate\"") && Catch::Contains("required"));
    CHECK_THAT(error_with(R"({"certificate": "a.pem", "private_key": "a.key", "port": 445})"),
               Catch::Contains("\"admin.port\"") && Catch::Contains("unknown field"));
    CHECK_THAT(error_with(R"("yes")"), Catch::Contains("\"admin\"") && Catch::Contains("object"));
}

TEST_CASE("the example configuration files in packaging/ load as they are shipped") {
    const fs::path packaging = fs::path(EDGEWAY_SOURCE_DIR) / "packaging";
    const auto edge = proxy::load_edge_config(packaging / "edge.example.json");
    CHECK(edge.listen_https == "0.0.0.0:443");
    REQUIRE(edge.admin);
    CHECK(edge.admin->listen == "0.0.0.0:445");
    CHECK(edge.admin->certificate == "/etc/edgeway/tls/admin.pem");
    CHECK(edge.state_directory == "/var/lib/edgeway/edge");
    const auto core = proxy::load_core_config(packaging / "core.example.json");
    REQUIRE(core.admin);
    CHECK(core.admin->listen == "0.0.0.0:445");
}

TEST_CASE("an edge's admin object needs its own certificate and key") {
    test::TempDir dir("config");
    const std::string with_admin =
        kEdge.substr(0, kEdge.rfind('}')) + R"(, "admin": {"listen": "127.0.0.1:0"}})";
    CHECK_THAT(error_of([&] { proxy::load_edge_config(write(dir, "edge.json", with_admin)); }),
               Catch::Contains("edge.json: field \"admin.certificate\""));
}

TEST_CASE("core config: the state backend, sqlite by default or etcd, errors naming the field",
          "[unit][config]") {
    test::TempDir dir("config");
    auto with_state = [&](const std::string& state) {
        std::string text = kCore;
        text.insert(text.rfind('}'), ", \"state\": " + state);
        return write(dir, "core.json", text);
    };
    CHECK(proxy::load_core_config(write(dir, "plain.json", kCore)).state.backend ==
          state::Backend::sqlite);
    CHECK(proxy::load_core_config(with_state(R"({"backend": "sqlite"})")).state == state::Config{});

    const auto etcd = proxy::load_core_config(with_state(
        R"({"backend": "etcd", "endpoints": ["http://10.0.0.5:2379", "https://etcd2:2379"],
            "prefix": "/site-a/", "timeout_ms": 1500, "tls": {"ca": "etcd-ca.pem"}})"));
    CHECK(etcd.state.backend == state::Backend::etcd);
    CHECK(etcd.state.etcd.endpoints ==
          std::vector<std::string>{"http://10.0.0.5:2379", "https://etcd2:2379"});
    CHECK(etcd.state.etcd.prefix == "/site-a/");
    CHECK(etcd.state.etcd.timeout == std::chrono::milliseconds(1500));
    CHECK(etcd.state.etcd.ca_file == dir.path() / "etcd-ca.pem");
    const auto defaults = proxy::load_core_config(
        with_state(R"({"backend": "etcd", "endpoints": ["http://e:2379"]})"));
    CHECK(defaults.state.etcd.prefix == "/edgeway/");
    CHECK(defaults.state.etcd.timeout == std::chrono::milliseconds(2000));

    const std::string file = (dir.path() / "core.json").string();
    CHECK(error_of([&] { proxy::load_core_config(with_state(R"({"backend": "redis"})")); }) ==
          file + ": field \"state.backend\": expected \"sqlite\" or \"etcd\"");
    CHECK_THAT(error_of([&] { proxy::load_core_config(with_state(R"({"backend": "etcd"})")); }),
               Catch::StartsWith(file + ": field \"state.endpoints\": expected a non-empty array"));
    CHECK_THAT(error_of([&] {
                   proxy::load_core_config(
                       with_state(R"({"backend": "etcd", "endpoints": ["10.0.0.5:2379"]})"));
               }),
               Catch::StartsWith(file + ": field \"state.endpoints\": expected etcd client URLs"));
    CHECK(error_of([&] {
              proxy::load_core_config(with_state(
                  R"({"backend": "etcd", "endpoints": ["http://e:2379"], "prefix": "/x"})"));
          }) == file +
                    ": field \"state.prefix\": expected a key prefix ending in '/', such as "
                    "\"/edgeway/\"");
    CHECK(error_of([&] {
              proxy::load_core_config(with_state(
                  R"({"backend": "etcd", "endpoints": ["http://e:2379"], "timeout_ms": 5})"));
          }) == file + ": field \"state.timeout_ms\": expected an integer from 100 to 60000");
    CHECK(error_of([&] {
              proxy::load_core_config(with_state(
                  R"({"backend": "etcd", "endpoints": ["http://e:2379"], "colour": 1})"));
          }) == file + ": field \"state.colour\": expected no such field (unknown field)");
    CHECK(error_of([&] {
              proxy::load_core_config(with_state(
                  R"({"backend": "etcd", "endpoints": ["http://e:2379"],
                      "tls": {"certificate": "c.pem"}})"));
          }) == file +
                    ": field \"state.tls.private_key\": expected a file path (certificate and "
                    "private_key go together)");
}

TEST_CASE("turn credentials: local by default, pushed when the edge says so, and a core's realm",
          "[unit][config]") {
    test::TempDir dir("config");
    auto edge_turn = [&](const std::string& turn) {
        std::string text = kEdge;
        text.replace(text.find(R"("workers": 1)"), 12, R"("workers": 1, "turn": )" + turn);
        return write(dir, "edge.json", text);
    };
    CHECK(proxy::load_edge_config(edge_turn("{}")).turn->credentials == turn::Credentials::local);
    CHECK(proxy::load_edge_config(edge_turn(R"({"credentials": "pushed"})")).turn->credentials ==
          turn::Credentials::pushed);
    const auto bad = edge_turn(R"({"credentials": "etcd"})");
    CHECK_THAT(error_of([&] { proxy::load_edge_config(bad); }),
               Catch::Contains("\"turn.credentials\"") && Catch::Contains("\"local\"") &&
                   Catch::Contains("\"pushed\""));

    CHECK(proxy::load_core_config(write(dir, "core.json", kCore)).turn_realm == "edgeway");
    std::string core = kCore;
    core.insert(1, R"("turn": {"realm": "example.com"},)");
    CHECK(proxy::load_core_config(write(dir, "core.json", core)).turn_realm == "example.com");
    core = kCore;
    core.insert(1, R"("turn": {"realm": "x", "credentials": "pushed"},)");
    const auto core_file = write(dir, "core.json", core);
    CHECK_THAT(error_of([&] { proxy::load_core_config(core_file); }),
               Catch::Contains("\"turn.credentials\"") && Catch::Contains("unknown field"));
}
