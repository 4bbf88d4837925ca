// Where the core's upstream connections go for a join host: every lab entry, or every address
// discovery found, each with the port it is connected on.
#include "proxy/inside_resolver.hpp"

#include <catch2/catch.hpp>

using namespace edgeway;
using namespace edgeway::proxy;

TEST_CASE("target endpoints get the join URL's port unless they carry their own",
          "[unit][resolver]") {
    using allowlist::target_endpoint;
    CHECK(target_endpoint({"j", "10.0.0.5"}, 443) == "10.0.0.5:443");
    CHECK(target_endpoint({"j", "10.0.0.5:9443"}, 443) == "10.0.0.5:9443");
    CHECK(target_endpoint({"j", "fd00::5"}, 8443) == "[fd00::5]:8443");
    CHECK(target_endpoint({"j", "[fd00::5]"}, 443) == "[fd00::5]:443");
    CHECK(target_endpoint({"j", "[fd00::5]:9443"}, 443) == "[fd00::5]:9443");
    CHECK(target_endpoint({"j", "bridge.lab:9443"}, 443) == "bridge.lab:9443");
}

TEST_CASE("a join host's targets: every lab entry, or every address discovery found",
          "[unit][resolver]") {
    SECTION("lab table: each resolve entry, in order") {
        CoreConfig config;
        config.resolve["join.example.com"] = {"127.0.0.1:9443", "127.0.0.1:9444"};
        const LiveConfig<CoreConfig> live(config);
        const InsideResolver resolver(live);
        CHECK(resolver.lab());
        CHECK(resolver.targets("join.example.com", 443) ==
              std::vector<std::string>{"127.0.0.1:9443", "127.0.0.1:9444"});
        CHECK(resolver.targets("other.example.com", 443).empty());
    }
    SECTION("DNS: what the last discovery round found, with the request's port") {
        const LiveConfig<CoreConfig> live(CoreConfig{});
        InsideResolver resolver(live);
        CHECK_FALSE(resolver.lab());
        CHECK(resolver.targets("join.example.com", 443).empty());  // ask DNS when connecting
        const auto uri = allowlist::parse_join_uri("https://join.example.com/");
        resolver.discovered(
            {{uri, {{"join.example.com", "10.0.0.5"}, {"join.example.com", "fd00::6"}}, ""}});
        CHECK(resolver.targets("join.example.com", 443) ==
              std::vector<std::string>{"10.0.0.5:443", "[fd00::6]:443"});
        resolver.discovered({{uri, {}, ""}});  // the name is gone
        CHECK(resolver.targets("join.example.com", 443).empty());
    }
}
