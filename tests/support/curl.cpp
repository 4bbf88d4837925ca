#include "tests/support/curl.hpp"

#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"

#include <atomic>
#include <regex>

namespace edgeway::test {
namespace {

std::string unique_name(const std::string& stem) {
    static std::atomic<int> counter{0};
    return stem + "-" + std::to_string(++counter);
}

std::string shell_quote(const std::string& text) {
    std::string out = "'";
    for (char c : text) {
        if (c == '\'') {
            out += "'\\''";
        } else {
            out += c;
        }
    }
    return out + "'";
}

}  // namespace

std::string CurlResult::body() const {
    return read_file(body_file);
}

CurlResult run_curl(const std::filesystem::path& work_dir, const std::filesystem::path& ca_file,
                    const std::string& host, std::uint16_t port, const std::string& path,
                    const std::vector<std::string>& extra_args, Millis timeout) {
    const auto name = unique_name("curl");
    CurlResult result;
    result.body_file = work_dir / (name + ".body");
    const auto authority = host + ":" + std::to_string(port);
    std::vector<std::string> args = {"-sS",
                                     "--max-time",
                                     std::to_string(timeout.count() / 1000),
                                     "--cacert",
                                     ca_file.string(),
                                     "--resolve",
                                     authority + ":127.0.0.1",
                                     "-o",
                                     result.body_file.string(),
                                     "-w",
                                     "\nCURL_STATUS=%{http_code}\n"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    args.push_back("https://" + authority + path);
    auto run = run_program("/usr/bin/curl", args, work_dir / (name + ".log"), timeout + 5s);
    result.exit_code = run.exit_code;
    result.output = run.output;
    std::smatch m;
    if (std::regex_search(result.output, m, std::regex(R"(CURL_STATUS=(\d+))"))) {
        result.status = static_cast<unsigned>(std::stoul(m[1]));
    }
    return result;
}

CurlPipeResult curl_sha256(const std::filesystem::path& work_dir,
                           const std::filesystem::path& ca_file, const std::string& host,
                           std::uint16_t port, const std::string& path, Millis timeout) {
    const auto authority = host + ":" + std::to_string(port);
    const std::string command = "set -o pipefail; /usr/bin/curl -sS --fail --max-time " +
                                std::to_string(timeout.count() / 1000) + " --cacert " +
                                shell_quote(ca_file.string()) + " --resolve " +
                                shell_quote(authority + ":127.0.0.1") + " " +
                                shell_quote("https://" + authority + path) + " | sha256sum";
    auto run = run_program("/bin/bash", {"-c", command},
                           work_dir / (unique_name("curl-pipe") + ".log"), timeout + 5s);
    CurlPipeResult result;
    result.exit_code = run.exit_code;
    result.output = run.output;
    std::smatch m;
    if (std::regex_search(result.output, m, std::regex(R"(([0-9a-f]{64})  -)"))) {
        result.sha256 = m[1];
    }
    return result;
}

}  // namespace edgeway::test
