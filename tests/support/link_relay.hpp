// An in-process TCP relay between the core and the edge's link port, run on its own Asio thread,
// for link failures the test controls: sever() drops every current connection (both sides see
// the TCP connection end), freeze() stops moving bytes while keeping the sockets open (a peer
// that died silently; one direction only: a peer whose frames are late), unfreeze() resumes. New
// connections are accepted meanwhile (and frozen too while frozen).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace edgeway::test {

class LinkRelay {
  public:
    enum class Direction { both, to_edge, to_core };
    // Listens on 127.0.0.1:0 and forwards each connection to 127.0.0.1:target_port.
    explicit LinkRelay(std::uint16_t target_port);
    ~LinkRelay();
    LinkRelay(const LinkRelay&) = delete;
    LinkRelay& operator=(const LinkRelay&) = delete;

    std::uint16_t port() const;
    void sever();
    // Stops moving the bytes of one direction (or both) until unfreeze().
    void freeze(Direction direction = Direction::both);
    void unfreeze();
    std::size_t connections_accepted() const;
    std::size_t connections_open() const;

  private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace edgeway::test
