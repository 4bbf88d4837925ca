// Runs the real curl binary against the edge: --cacert for trust, --resolve to map the join host
// to 127.0.0.1, the body written to a file, the status parsed from --write-out.
#pragma once

#include "tests/support/wait.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace edgeway::test {

struct CurlResult {
    std::optional<int> exit_code;  // nullopt: timed out
    unsigned status = 0;
    std::filesystem::path body_file;
    std::string output;  // curl's stderr and the --write-out text
    std::string body() const;
};

// curl -sS --cacert CA --resolve HOST:PORT:127.0.0.1 [extra...] https://HOST:PORT<path>
CurlResult run_curl(const std::filesystem::path& work_dir, const std::filesystem::path& ca_file,
                    const std::string& host, std::uint16_t port, const std::string& path,
                    const std::vector<std::string>& extra_args = {}, Millis timeout = 60000ms);

// bash -c 'set -o pipefail; curl ... URL | sha256sum': the digest of the piped body.
struct CurlPipeResult {
    std::optional<int> exit_code;
    std::string sha256;
    std::string output;
};
CurlPipeResult curl_sha256(const std::filesystem::path& work_dir,
                           const std::filesystem::path& ca_file, const std::string& host,
                           std::uint16_t port, const std::string& path, Millis timeout = 60000ms);

}  // namespace edgeway::test
