// One HTTP/1.1 connection (plain or TLS) to one etcd member's JSON gateway, driven by
// coroutines on the owner's io_context. Private to state/.
#pragma once

#include "state/state.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <functional>
#include <memory>
#include <string>

namespace edgeway::state {

struct Endpoint {
    std::string url;  // as configured, for messages
    std::string host, port;
    bool tls = false;
};
// "http://HOST:PORT" or "https://HOST:PORT" (a trailing '/' is allowed). Throws Error.
Endpoint parse_endpoint(const std::string& url);

// The TLS context for https endpoints; null when every endpoint is plain http.
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const EtcdOptions& options);

struct Answer {
    unsigned status = 0;
    std::string body;
};

class Connection {
  public:
    Connection(const boost::asio::any_io_executor& executor, Endpoint endpoint,
               boost::asio::ssl::context* tls);
    ~Connection();

    const Endpoint& endpoint() const { return endpoint_; }
    // Resolves, connects and (https) shakes hands, all within timeout. Throws system_error.
    boost::asio::awaitable<void> open(Millis timeout);
    // POSTs a JSON body and reads the whole answer within timeout. Throws system_error.
    boost::asio::awaitable<Answer> post(const std::string& path, std::string body, Millis timeout);
    // POSTs and reads the answer's head within timeout; the body then comes piece by piece
    // from read_body, without a time limit (a watch may be silent for hours).
    boost::asio::awaitable<unsigned> post_streaming(const std::string& path, std::string body,
                                                    Millis timeout);
    // The next piece of a streamed body; "" when it ended. Throws system_error.
    boost::asio::awaitable<std::string> read_body();
    // Whether the member keeps the connection open for the next request.
    bool reusable() const { return reusable_; }
    void close();

  private:
    template <typename Stream>
    boost::asio::awaitable<void> write(Stream& stream, const std::string& path, std::string body);
    boost::beast::tcp_stream& tcp();

    Endpoint endpoint_;
    boost::asio::ssl::context* tls_context_;
    std::unique_ptr<boost::beast::tcp_stream> plain_;
    std::unique_ptr<boost::beast::ssl_stream<boost::beast::tcp_stream>> secure_;
    boost::beast::flat_buffer buffer_;
    std::unique_ptr<boost::beast::http::response_parser<boost::beast::http::string_body>> parser_;
    std::string streamed_;
    // Beast keeps a reference to the chunk callback: it lives here.
    std::function<std::size_t(std::uint64_t, boost::beast::string_view, boost::beast::error_code&)>
        on_chunk_;
    bool reusable_ = false;
};

}  // namespace edgeway::state
