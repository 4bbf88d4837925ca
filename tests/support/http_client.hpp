// Beast HTTP/1.1 clients for the tests: whole requests, keep-alive connections, streamed uploads
// and downloads (hashed on the fly, never buffered), and plain-HTTP requests for the redirect port.
#pragma once

#include "tests/support/tls_client.hpp"

#include <boost/beast/http.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace edgeway::test {

namespace http = boost::beast::http;
using Headers = std::vector<std::pair<std::string, std::string>>;

struct Response {
    unsigned status = 0;
    http::fields headers;
    std::string body;
    std::string header(std::string_view name) const {
        auto it = headers.find(name);
        return it == headers.end() ? std::string() : std::string(it->value());
    }
};

// Builds a request with Host (target.host()), User-Agent and the given extra headers; a non-empty
// body gets Content-Length.
http::request<http::string_body> make_request(const TlsTarget& target, http::verb method,
                                              std::string path, std::string body = {},
                                              const Headers& headers = {});

// Writes req and reads the response (HEAD-aware). buffer carries bytes between requests on a
// keep-alive connection.
net::awaitable<Response> async_request(TlsStream& stream, beast::flat_buffer& buffer,
                                       http::request<http::string_body> req, Millis timeout);

// Connect, one request, read the response, close. Throws on network errors and timeouts.
net::awaitable<Response> async_https(ssl::context& context, TlsTarget target,
                                     http::request<http::string_body> req);
Response https_request(const TlsTarget& target, http::request<http::string_body> req);
Response https_get(const TlsTarget& target, std::string path, const Headers& headers = {});

// A keep-alive connection for several requests in a row.
class HttpsConnection {
  public:
    explicit HttpsConnection(TlsTarget target);
    ~HttpsConnection();
    Response request(http::request<http::string_body> req);
    Response get(std::string path) { return request(make_request(target_, http::verb::get, path)); }
    const TlsTarget& target() const { return target_; }
    // Waits, sending nothing, for the server to close the (idle) connection: true when it does
    // within timeout, false when it stays open (or sends something).
    bool closed_by_server(Millis timeout);
    // Bytes as they are (a request head, part of a body), and the response to what was sent.
    void send(std::string_view bytes);
    Response read_response();

  private:
    TlsTarget target_;
    net::io_context io_;
    std::shared_ptr<ssl::context> context_;
    TlsStream stream_;
    beast::flat_buffer buffer_;
};

// A POST whose body goes in two parts, the second when the test says so: a request that stays in
// flight exactly as long as the test wants (the demo web bridge answers /upload once the whole
// body is in, with {"bytes": N, "sha256": ...}).
class HeldUpload {
  public:
    // Connects and sends the head (with the Content-Length of both parts) and the first part.
    HeldUpload(TlsTarget target, std::string path, std::string first, std::string rest);
    // Sends the rest and reads the response.
    Response finish();

  private:
    HttpsConnection connection_;
    std::string rest_;
};

// Streams `bytes` pseudo-random bytes (RandomStream(seed)) as the body, with Content-Length or
// Transfer-Encoding: chunked, then reads the response.
struct UploadResult {
    Response response;
    std::uint64_t sent_bytes = 0;
    std::string sent_sha256;
    std::string write_error;  // "" when the whole body was written
};
UploadResult https_upload(const TlsTarget& target, std::string path, std::uint64_t bytes,
                          bool chunked, std::uint64_t seed = 1,
                          http::verb method = http::verb::post);

// Reads the response body in blocks, hashing it; on_progress(bytes so far) runs after each block.
// Network errors and truncation are reported, not thrown (the head must arrive, though).
struct DownloadResult {
    unsigned status = 0;
    http::fields headers;
    std::uint64_t bytes = 0;
    std::string sha256;
    std::string first_bytes;  // up to 4 KiB of the start of the body
    bool complete = false;    // the message ended as its framing said
    std::string error;        // why reading stopped early
};
DownloadResult https_download(const TlsTarget& target, std::string path,
                              const std::function<void(std::uint64_t)>& on_progress = {});

// Plain HTTP (the redirect listener). Host is sent as given.
Response http_plain_request(std::uint16_t port, http::verb method, std::string path,
                            std::string host, Millis timeout = 10000ms);

}  // namespace edgeway::test
