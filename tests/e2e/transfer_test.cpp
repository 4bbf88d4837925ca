// Large bodies stream through the proxy intact in both directions.
#include "tests/e2e/e2e.hpp"

using namespace edgeway::test;

namespace {

void check_upload(const UploadResult& result, std::uint64_t bytes) {
    INFO("write error: " << result.write_error << "; response: " << result.response.body);
    REQUIRE(result.write_error.empty());
    REQUIRE(result.response.status == 200);
    const auto answer = json::parse(result.response.body);
    CHECK(answer.at("bytes").get<std::uint64_t>() == bytes);
    CHECK(answer.at("sha256").get<std::string>() == result.sent_sha256);
}

}  // namespace

TEST_CASE("a 50 MiB upload with Content-Length reaches the web bridge intact", "[e2e][transfer]") {
    Appliance app;
    const std::uint64_t bytes = 50 * MiB;
    const auto result = https_upload(app.target(), "/upload", bytes, false, 50);
    CHECK(result.sent_bytes == bytes);
    check_upload(result, bytes);
}

TEST_CASE("a chunked upload reaches the web bridge intact", "[e2e][transfer]") {
    Appliance app;
    const std::uint64_t bytes = 5 * MiB + 123;
    const auto result = https_upload(app.target(), "/upload", bytes, true, 5, http::verb::put);
    check_upload(result, bytes);
}

TEST_CASE("a 50 MiB download streams to the client intact", "[e2e][transfer]") {
    Appliance app;
    const std::uint64_t bytes = 50 * MiB;
    const auto result = https_download(app.target(), "/download?bytes=" + std::to_string(bytes));
    INFO("error: " << result.error);
    REQUIRE(result.status == 200);
    CHECK(result.complete);
    CHECK(result.bytes == bytes);
    CHECK(result.sha256 == pattern_sha256(bytes));
}
