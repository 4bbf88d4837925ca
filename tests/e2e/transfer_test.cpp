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

TEST_CASE("a slow chunked response streams through chunk by chunk, not all at the end",
          "[e2e][transfer]") {
    Appliance app;
    // 6 chunks 300 ms apart: the last arrives after about 1.5 s.
    const auto start = Clock::now();
    double first_chunk_ms = -1;
    const auto result =
        https_download(app.target(), "/drip?chunks=6&interval_ms=300", [&](std::uint64_t) {
            if (first_chunk_ms < 0) first_chunk_ms = elapsed_ms(start);
        });
    const auto total_ms = elapsed_ms(start);
    INFO("first chunk after " << first_chunk_ms << " ms, all after " << total_ms << " ms");
    REQUIRE(result.status == 200);
    CHECK(result.complete);
    CHECK(result.first_bytes == "chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\nchunk 5\n");
    CHECK(total_ms >= 1400);
    CHECK(first_chunk_ms < 700);
}

TEST_CASE(
    "chunked responses whose end arrives while their last piece is being written are "
    "complete",
    "[e2e][transfer]") {
    // The web bridge writes each chunk and then the terminator right away: the end of the
    // stream often reaches the edge while it is writing the last piece to the browser. The
    // terminator must go out then too, or a keep-alive client waits for it forever.
    Appliance app;
    TlsTarget target = app.target();
    target.timeout = 5s;
    HttpsConnection connection(target);
    for (int i = 0; i < 300; ++i) {
        INFO("request " << i);
        const Response response = connection.get("/drip?chunks=2&interval_ms=0");
        REQUIRE(response.status == 200);
        REQUIRE(response.body == "chunk 0\nchunk 1\n");
    }
}
