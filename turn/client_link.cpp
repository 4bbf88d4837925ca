#include "turn/client_link.hpp"

#include <fmt/format.h>

namespace edgeway::turn {

std::string FiveTuple::describe() const {
    const auto address = client.address().to_string();
    return fmt::format("{} {}{}{}:{}", transport == Transport::udp ? "udp" : "tcp",
                       client.address().is_v6() ? "[" : "", address,
                       client.address().is_v6() ? "]" : "", client.port());
}

void UdpClientLink::send(stun::ByteView bytes) {
    boost::system::error_code ignored;
    socket_.send_to(boost::asio::buffer(bytes.data(), bytes.size()), client_, 0, ignored);
}

}  // namespace edgeway::turn
