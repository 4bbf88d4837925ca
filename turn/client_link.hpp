// The way back to a TURN client: its UDP address on a listener socket, or its TCP connection.
// Sends are best effort, as for any datagram: a full socket buffer or write queue drops.
#pragma once

#include "turn/stun_attributes.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>

#include <compare>
#include <memory>
#include <string>

namespace edgeway::turn {

enum class Transport { udp, tcp };

// RFC 8656's 5-tuple naming an allocation: transport, client address, server address.
struct FiveTuple {
    Transport transport = Transport::udp;
    stun::Endpoint client, server;
    bool operator<(const FiveTuple& o) const {
        if (transport != o.transport) return transport < o.transport;
        if (client != o.client) return client < o.client;
        return server < o.server;
    }
    std::string describe() const;  // "udp 192.0.2.1:5000"
};

class ClientLink {
  public:
    virtual ~ClientLink() = default;
    virtual void send(stun::ByteView bytes) = 0;
    // Streams need ChannelData padded to 4 bytes (RFC 8656 12.5).
    virtual bool stream() const = 0;
    // A handle that stays valid after the call that received the request (for an allocation).
    virtual std::shared_ptr<ClientLink> keep() = 0;
};

// A UDP client: replies leave from the listener socket it wrote to. The socket is non-blocking;
// a send that would block is dropped like a lost datagram.
class UdpClientLink final : public ClientLink {
  public:
    UdpClientLink(boost::asio::ip::udp::socket& socket, const stun::Endpoint& client)
        : socket_(socket), client_(client) {}
    void send(stun::ByteView bytes) override;
    bool stream() const override { return false; }
    std::shared_ptr<ClientLink> keep() override {
        return std::make_shared<UdpClientLink>(socket_, client_);
    }

  private:
    boost::asio::ip::udp::socket& socket_;
    stun::Endpoint client_;
};

}  // namespace edgeway::turn
