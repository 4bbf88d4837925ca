// The local copy of an etcd range (state::RangeCache): what is saved is loaded back whole, only
// the owner can read it, and a file that is missing, damaged or cannot be written is no copy
// rather than an error.
#include "state/state.hpp"

#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

using namespace edgeway;
using namespace edgeway::test;

namespace {

state::Range sample(std::int64_t revision, const std::string& version = "7") {
    state::Range range;
    range.revision = revision;
    range.kvs = {{"allowlist/version", version, 3, 9, 4},
                 {"allowlist/operator", R"([{"rule":{"path":"/é"}}])", 4, 9, 2}};
    return range;
}

}  // namespace

TEST_CASE("a saved range loads back with every key, value and revision", "[state][cache]") {
    TempDir dir;
    state::RangeCache cache(dir / "copy.json");
    CHECK_FALSE(cache.load());
    cache.save(sample(9));
    const auto loaded = cache.load();
    REQUIRE(loaded);
    CHECK(loaded->revision == 9);
    REQUIRE(loaded->kvs.size() == 2);
    const auto* rules = loaded->find("allowlist/operator");
    REQUIRE(rules);
    CHECK(rules->value == R"([{"rule":{"path":"/é"}}])");
    CHECK(rules->create_revision == 4);
    CHECK(rules->mod_revision == 9);
    CHECK(rules->version == 2);
    struct stat info {};
    REQUIRE(::stat((dir / "copy.json").c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0600);
    CHECK_FALSE(std::filesystem::exists(dir / "copy.json.tmp"));

    // The same keys and values at a later store revision (a write elsewhere in etcd): no
    // write. Other content replaces it; another cache object on the same file reads it.
    cache.save(sample(11));
    CHECK(state::RangeCache(dir / "copy.json").load()->revision == 9);
    cache.save(sample(12, "8"));
    CHECK(state::RangeCache(dir / "copy.json").load()->revision == 12);
    CHECK(state::RangeCache(dir / "copy.json").load()->find("allowlist/version")->value == "8");
}

TEST_CASE("a damaged or unwritable copy is no copy, not an error", "[state][cache]") {
    TempDir dir;
    for (const char* text : {"", "{", R"({"format":1,"revision":3})", R"({"format":99})",
                             R"({"format":1,"revision":3,"kvs":[{"key":1}]})"}) {
        INFO(text);
        CHECK_FALSE(state::RangeCache(dir.write("bad.json", text)).load());
    }
    state::RangeCache nowhere(dir / "missing-directory" / "copy.json");
    CHECK_NOTHROW(nowhere.save(sample(1)));
    CHECK_FALSE(nowhere.load());
    CHECK_NOTHROW(state::RangeCache({}).save(sample(1)));
}
