// A bad configuration stops start-up with exit code 2 and a message naming the file and field;
// valid but unusual configurations (comments, relative paths) work.
#include "tests/e2e/e2e.hpp"

using namespace edgeway::test;

namespace {

json edge_config(const tls::LabPki& pki) {
    return default_edge_config(pki);
}

json core_config(const tls::LabPki& pki) {
    return {
        {"log_level", "info"},
        {"workers", 1},
        {"join_url", "https://localhost/"},
        {"edges", json::array({{{"address", "127.0.0.1:9"}, {"server_name", "localhost"}}})},
        {"links_per_edge", 1},
        {"link_tls",
         {{"certificate", pki.core_cert().string()},
          {"private_key", pki.core_key().string()},
          {"edge_ca", pki.ca_cert().string()}}},
        {"webbridge_tls", {{"ca", pki.ca_cert().string()}}},
    };
}

struct Setup {
    TempDir dir{"edgeway-config"};
    tls::LabPki pki = tls::ensure_lab_pki(dir / "pki", {});
};

RunResult run_role(const std::string& role, const std::filesystem::path& config,
                   const std::filesystem::path& log) {
    return run_program(edgeway_binary(), {role, "--config", config.string()}, log, 10s);
}

}  // namespace

TEST_CASE("a missing config file exits 2 naming the file", "[e2e][config]") {
    TempDir dir("edgeway-config");
    const auto missing = dir / "does-not-exist.json";
    for (const std::string role : {"edge", "core"}) {
        INFO(role);
        const auto run = run_role(role, missing, dir / (role + ".log"));
        INFO(run.output);
        CHECK(run.exit_code == 2);
        CHECK_THAT(run.output, Contains(missing.string()));
    }
}

TEST_CASE("invalid JSON exits 2 naming the file and the line", "[e2e][config]") {
    Setup s;
    const auto file = s.dir.write("edge.json",
                                  "{\n"
                                  "  \"log_level\": \"info\",\n"
                                  "  \"workers\": 1,\n"
                                  "  \"listen\": {\"https\": \"127.0.0.1:0\",,\n"
                                  "}\n");
    const auto run = run_role("edge", file, s.dir / "edge.log");
    INFO(run.output);
    CHECK(run.exit_code == 2);
    CHECK_THAT(run.output, Contains(file.string()));
    CHECK(std::regex_search(run.output, std::regex(R"((line 4\b|:4:))")));
}

TEST_CASE("a field of the wrong type exits 2 naming the file and the field", "[e2e][config]") {
    Setup s;
    auto config = edge_config(s.pki);
    config["workers"] = "two";
    write_json(s.dir / "edge.json", config);
    const auto run = run_role("edge", s.dir / "edge.json", s.dir / "edge.log");
    INFO(run.output);
    CHECK(run.exit_code == 2);
    CHECK_THAT(run.output, Contains((s.dir / "edge.json").string()));
    CHECK_THAT(run.output, Contains("\"workers\""));
}

TEST_CASE("a nested field with a bad value exits 2 naming its path and what was expected",
          "[e2e][config]") {
    Setup s;
    auto config = edge_config(s.pki);
    config["limits"] = {{"max_header_bytes", -5}};
    write_json(s.dir / "edge.json", config);
    const auto run = run_role("edge", s.dir / "edge.json", s.dir / "edge.log");
    INFO(run.output);
    CHECK(run.exit_code == 2);
    CHECK_THAT(run.output, Contains((s.dir / "edge.json").string()));
    CHECK_THAT(run.output, Contains("\"limits.max_header_bytes\""));
    CHECK_THAT(run.output, Contains("expected"));
}

TEST_CASE("an unknown field exits 2 naming it", "[e2e][config]") {
    Setup s;
    SECTION("at the top level") {
        auto config = edge_config(s.pki);
        config["join_hostz"] = json::array({"localhost"});
        write_json(s.dir / "edge.json", config);
        const auto run = run_role("edge", s.dir / "edge.json", s.dir / "edge.log");
        INFO(run.output);
        CHECK(run.exit_code == 2);
        CHECK_THAT(run.output, Contains("join_hostz"));
    }
    SECTION("nested") {
        auto config = edge_config(s.pki);
        config["limits"] = {{"max_header_byte", 1000}};
        write_json(s.dir / "edge.json", config);
        const auto run = run_role("edge", s.dir / "edge.json", s.dir / "edge.log");
        INFO(run.output);
        CHECK(run.exit_code == 2);
        CHECK_THAT(run.output, Contains("max_header_byte"));
    }
}

TEST_CASE("a core config with a bad field exits 2 naming it", "[e2e][config]") {
    Setup s;
    SECTION("wrong type") {
        auto config = core_config(s.pki);
        config["links_per_edge"] = "one";
        write_json(s.dir / "core.json", config);
        const auto run = run_role("core", s.dir / "core.json", s.dir / "core.log");
        INFO(run.output);
        CHECK(run.exit_code == 2);
        CHECK_THAT(run.output, Contains((s.dir / "core.json").string()));
        CHECK_THAT(run.output, Contains("links_per_edge"));
    }
    SECTION("bad address inside an array") {
        auto config = core_config(s.pki);
        config["edges"][0]["address"] = "no port here";
        write_json(s.dir / "core.json", config);
        const auto run = run_role("core", s.dir / "core.json", s.dir / "core.log");
        INFO(run.output);
        CHECK(run.exit_code == 2);
        CHECK_THAT(run.output, Contains("edges"));
        CHECK_THAT(run.output, Contains("address"));
    }
}

TEST_CASE("a missing certificate file stops start-up with an error naming it", "[e2e][config]") {
    Setup s;
    auto config = edge_config(s.pki);
    config["tls"]["certificate"] = (s.dir / "nope.pem").string();
    write_json(s.dir / "edge.json", config);
    const auto run = run_role("edge", s.dir / "edge.json", s.dir / "edge.log");
    INFO(run.output);
    REQUIRE(run.exit_code.has_value());
    CHECK(*run.exit_code != 0);
    CHECK_THAT(run.output, Contains((s.dir / "nope.pem").string()));
}

TEST_CASE("comments are allowed and relative paths resolve against the config file's directory",
          "[e2e][config]") {
    Setup s;  // the PKI is in <dir>/pki, the config in <dir>/conf
    std::filesystem::create_directories(s.dir / "conf");
    const auto file = s.dir.write("conf/edge.json", R"({
  // line comment
  "log_level": "info", /* block comment */
  "workers": 1,
  "listen": {"https": "127.0.0.1:0", "http_redirect": "127.0.0.1:0", "link": "127.0.0.1:0"},
  "tls": {"certificate": "../pki/edge.pem", "private_key": "../pki/edge.key"},
  "link_tls": {"certificate": "../pki/link.pem", "private_key": "../pki/link.key",
               "client_ca": "../pki/ca.pem"}
}
)");
    // Started from "/", where the relative paths mean nothing.
    ChildProcess edge("edge", edgeway_binary(), {"edge", "--config", file.string()},
                      s.dir / "edge.log", "/");
    edge.require_log(R"(https listening on 127\.0\.0\.1:\d+)", 10s);
    edge.require_log(R"(link listening on 127\.0\.0\.1:\d+)", 10s);
    edge.terminate();
}
