// What the API may change in the admin listener itself: its address (rebound live) and its TLS
// certificate (for new connections). The server implements it; handlers run on the server's
// thread, so the calls need no locks.
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <optional>
#include <string>

namespace edgeway::admin {

class ListenerControl {
  public:
    virtual ~ListenerControl() = default;
    // The address the listener is bound to now ("127.0.0.1:445", "[::]:445").
    virtual std::string bound_address() const = 0;
    // Binds a new acceptor to address (host:port); on failure returns the reason and the old
    // listener is untouched. On success the new one accepts at once and the old one is closed
    // once the current answer is on its way; open connections are kept either way. Returns the
    // new bound address.
    struct Rebound {
        std::string address;  // bound, on success
        std::string error;    // the OS's reason, on failure
    };
    virtual Rebound rebind(const std::string& address) = 0;
    // New connections use this context; open ones keep theirs.
    virtual void replace_tls_context(std::shared_ptr<boost::asio::ssl::context> context) = 0;
};

}  // namespace edgeway::admin
