// The demo web bridge: an HTTPS + WebSocket server that stands in for a meeting server's web app
// in the demo appliance, in tests and in benchmarks. See webbridge_demo.cpp for its endpoints.
#pragma once

#include "common/log.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace edgeway::demo {

struct WebBridgeOptions {
    std::string listen = "127.0.0.1:9443";  // host:port; port 0 picks a free port
    std::filesystem::path certificate_file;
    std::filesystem::path private_key_file;
};

class WebBridge {
  public:
    WebBridge(boost::asio::io_context& io, WebBridgeOptions options, Logger& log);
    ~WebBridge();
    // Binds and starts accepting; logs "listening on ADDR:PORT". Throws on bind/TLS errors.
    void start();
    boost::asio::ip::tcp::endpoint local_endpoint() const;
    // Stops accepting and closes open connections.
    void stop();

  private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

// `edgeway webbridge-demo --listen ADDR:PORT --cert FILE --key FILE`; args exclude the program
// and subcommand names. Returns the process exit code (2 for usage errors).
int webbridge_demo_main(const std::vector<std::string>& args);

}  // namespace edgeway::demo
