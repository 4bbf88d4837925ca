#include "turn/request_handler.hpp"

#include "turn/integrity.hpp"
#include "turn/turn.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace edgeway::turn {
namespace {

namespace asio = boost::asio;
using namespace stun;

constexpr std::uint8_t kUdp = 17;

const char* method_name(std::uint16_t method) {
    switch (method) {
        case method::binding:
            return "Binding";
        case method::allocate:
            return "Allocate";
        case method::refresh:
            return "Refresh";
        case method::create_permission:
            return "CreatePermission";
        case method::channel_bind:
            return "ChannelBind";
        case method::send:
            return "Send";
        default:
            return "unknown method";
    }
}

std::string endpoint_text(const Endpoint& e) {
    return e.address().is_v6() ? "[" + e.address().to_string() + "]:" + std::to_string(e.port())
                               : e.address().to_string() + ":" + std::to_string(e.port());
}

std::uint64_t read_token(ByteView value) {
    std::uint64_t token = 0;
    for (auto b : value) token = token << 8 | b;
    return token;
}

}  // namespace

// One request being answered: the message, where it came from, and (once authenticated) the key
// and user its response is signed for.
struct RequestHandler::Request {
    const Message& message;
    const FiveTuple& tuple;
    ClientLink& link;
    SteadyTime now;
    std::optional<Md5> key;
    std::string user;

    // Answers with the given attributes written by fill, signed when authenticated.
    template <typename Fill>
    void answer(Class cls, Fill&& fill) {
        MessageBuilder reply(message.method, cls, message.transaction_id);
        fill(reply);
        sign(reply);
        link.send(reply.bytes());
    }
    void sign(MessageBuilder& reply) const {
        if (key) {
            reply.add_integrity(*key);
            if (message.integrity_sha256_offset) reply.add_integrity_sha256(*key);
        }
        if (message.fingerprint_offset) reply.add_fingerprint();
    }
};

RequestHandler::RequestHandler(asio::io_context& io, const Config& config, Logger& log,
                               Authenticator& auth, const NonceIssuer& nonces,
                               AllocationTable& table, const PeerPolicy& policy)
    : io_(io),
      config_(config),
      log_(log),
      auth_(auth),
      nonces_(nonces),
      table_(table),
      policy_(policy),
      relay_address_(asio::ip::make_address(config.relay_address)) {
    if (!config.external_address.empty())
        external_address_ = asio::ip::make_address(config.external_address);
}

void RequestHandler::on_client(ByteView bytes, const FiveTuple& tuple, ClientLink& link) {
    if (is_channel_data(bytes)) {
        const auto data = parse_channel_data(bytes);
        const auto allocation = table_.find(tuple);
        if (data && allocation)
            allocation->send_channel(data->channel, data->data, std::chrono::steady_clock::now());
        return;
    }
    auto parsed = parse(bytes);
    switch (parsed.error) {
        case ParseError::ok:
            on_message(*parsed.message, tuple, link);
            return;
        case ParseError::bad_attribute:
            if (parsed.message->cls == Class::request) {
                refusal(LogLevel::info,
                        fmt::format("400: malformed attribute in a {} request from {}",
                                    method_name(parsed.message->method), tuple.describe()));
                MessageBuilder reply(parsed.message->method, Class::error,
                                     parsed.message->transaction_id);
                reply.add_error(400, "Bad Request");
                link.send(reply.bytes());
            }
            return;
        default:
            // Nothing to answer: without a sound header there is no transaction to reply to.
            log_.debug("dropped {} bytes from {}: {}", bytes.size(), tuple.describe(),
                       to_string(parsed.error));
            return;
    }
}

void RequestHandler::on_client_closed(const FiveTuple& tuple) {
    if (const auto allocation = table_.find(tuple)) {
        log_.info("allocation of user '{}' from {} closed with its connection", allocation->user(),
                  tuple.describe());
        table_.erase(tuple);
    }
}

void RequestHandler::on_message(const Message& message, const FiveTuple& tuple, ClientLink& link) {
    if (message.cls == Class::indication) {
        if (message.method == method::send) send_indication(message, tuple);
        return;  // other indications (Binding keep-alives) need nothing
    }
    if (message.cls != Class::request) return;  // responses are not for a server
    Request request{message, tuple, link, std::chrono::steady_clock::now(), std::nullopt, {}};
    if (const auto unknown = message.unknown_required(); !unknown.empty()) {
        std::string list;
        for (auto t : unknown) list += fmt::format("{}0x{:04X}", list.empty() ? "" : ", ", t);
        refusal(LogLevel::info,
                fmt::format("420: {} request from {} carries attributes this relay does not "
                            "know: {}",
                            method_name(message.method), tuple.describe(), list));
        request.answer(Class::error, [&](MessageBuilder& reply) {
            reply.add_error(420, "Unknown Attribute");
            reply.add_unknown_attributes(unknown);
        });
        return;
    }
    switch (message.method) {
        case method::binding:
            return binding(request);
        case method::allocate:
            return allocate(request);
        case method::refresh:
            return refresh(request);
        case method::create_permission:
            return create_permission(request);
        case method::channel_bind:
            return channel_bind(request);
        default:
            return fail(request, 400, "Bad Request",
                        fmt::format("400: unknown method 0x{:03X} from {}", message.method,
                                    tuple.describe()));
    }
}

void RequestHandler::fail(Request& request, unsigned code, const char* reason,
                          const std::string& log) {
    if (!log.empty()) refusal(LogLevel::warn, log);
    request.answer(Class::error, [&](MessageBuilder& reply) { reply.add_error(code, reason); });
}

void RequestHandler::refusal(LogLevel level, const std::string& line) {
    // The start of a line names the code, the refusal and (mostly) the user; the client's
    // address, which an attacker varies at will, comes later.
    constexpr std::size_t kKeyLength = 56;
    switch (throttle_.check(line.substr(0, kKeyLength), std::chrono::steady_clock::now())) {
        case LogThrottle::Verdict::log:
            log_.write(level, line);
            return;
        case LogThrottle::Verdict::log_last:
            log_.write(level, line + " [more refusals like this one are not logged for 10 s]");
            return;
        case LogThrottle::Verdict::suppress:
            return;
    }
}

void RequestHandler::binding(Request& request) {
    request.answer(Class::success, [&](MessageBuilder& reply) {
        reply.add_xor_address(attr::xor_mapped_address, request.tuple.client);
        reply.add_text(attr::software, config_.software);
    });
}

bool RequestHandler::authenticate(Request& request) {
    auto result = auth_.check(request.message, request.now);
    if (result.code == 0) {
        request.key = result.key;
        request.user = std::move(result.username);
        return true;
    }
    if (result.log.empty())
        log_.debug("401 challenge to {} ({} request without credentials)", request.tuple.describe(),
                   method_name(request.message.method));
    else
        refusal(LogLevel::warn,
                fmt::format("{} ({} from {})", result.log, method_name(request.message.method),
                            request.tuple.describe()));
    request.answer(Class::error, [&](MessageBuilder& reply) {
        reply.add_error(result.code, result.reason);
        if (result.code == 401 || result.code == 438) {
            reply.add_text(attr::realm, auth_.realm());
            reply.add_text(attr::nonce, nonces_.issue(request.now));
        }
    });
    return false;
}

std::shared_ptr<Allocation> RequestHandler::allocation_of(Request& request) {
    const auto allocation = table_.find(request.tuple);
    if (!allocation) {
        fail(request, 437, "Allocation Mismatch",
             fmt::format("437: {} from user '{}' at {} but there is no allocation for it "
                         "(expired or never made)",
                         method_name(request.message.method), request.user,
                         request.tuple.describe()));
        return nullptr;
    }
    if (allocation->user() != request.user) {
        fail(request, 441, "Wrong Credentials",
             fmt::format("441: user '{}' sent {} for the allocation of user '{}' at {}",
                         request.user, method_name(request.message.method), allocation->user(),
                         request.tuple.describe()));
        return nullptr;
    }
    return allocation;
}

std::optional<Endpoint> RequestHandler::peer_address(Request& request, const Attribute& attr) {
    const auto peer = decode_xor_address(attr.value, request.message.transaction_id);
    if (!peer) {
        fail(request, 400, "Bad Request",
             fmt::format("400: malformed XOR-PEER-ADDRESS from user '{}' at {}", request.user,
                         request.tuple.describe()));
        return std::nullopt;
    }
    if (peer->address().is_v4() != relay_address_.is_v4()) {
        fail(request, 443, "Peer Address Family Mismatch",
             fmt::format("443: user '{}' at {} asked for peer {} of another address family than "
                         "the relay's",
                         request.user, request.tuple.describe(), endpoint_text(*peer)));
        return std::nullopt;
    }
    if (const auto why = policy_.refusal(peer->address())) {
        fail(
            request, 403, "Forbidden",
            fmt::format("403: user '{}' at {} asked to relay to {}, {}; refused (add it to "
                        "allowed_peer_ranges if this is intended)",
                        request.user, request.tuple.describe(), peer->address().to_string(), *why));
        return std::nullopt;
    }
    return peer;
}

Endpoint RequestHandler::advertised_endpoint(const FiveTuple& tuple) const {
    if (external_address_) return Endpoint(*external_address_, 0);
    if (!relay_address_.is_unspecified()) return Endpoint(relay_address_, 0);
    // The relay's address family must be the relay socket's, whatever the client's is.
    if (tuple.client.address().is_v4() != relay_address_.is_v4())
        return Endpoint(relay_address_, 0);
    if (!tuple.server.address().is_unspecified()) return Endpoint(tuple.server.address(), 0);
    // Bound to every address: advertise the one the kernel would use to reach the client.
    asio::ip::udp::socket probe(io_);
    boost::system::error_code ec;
    probe.connect(tuple.client, ec);
    if (!ec) return Endpoint(probe.local_endpoint(ec).address(), 0);
    return Endpoint(relay_address_, 0);
}

void RequestHandler::allocate(Request& request) {
    if (!authenticate(request)) return;
    const auto& message = request.message;
    const auto& tuple = request.tuple;
    if (const auto existing = table_.find(tuple)) {
        if (existing->user() != request.user)
            return fail(request, 441, "Wrong Credentials",
                        fmt::format("441: user '{}' sent Allocate at {} which has an allocation "
                                    "of user '{}'",
                                    request.user, tuple.describe(), existing->user()));
        if (existing->allocate_transaction == message.transaction_id) {
            request.link.send(existing->allocate_response);  // a retransmission
            return;
        }
        return fail(request, 437, "Allocation Mismatch",
                    fmt::format("437: user '{}' sent a second Allocate at {} which already has "
                                "an allocation",
                                request.user, tuple.describe()));
    }
    const auto* transport = message.find(attr::requested_transport);
    const auto protocol = transport ? decode_requested_transport(transport->value) : std::nullopt;
    if (!protocol)
        return fail(request, 400, "Bad Request",
                    fmt::format("400: Allocate from user '{}' at {} without a valid "
                                "REQUESTED-TRANSPORT",
                                request.user, tuple.describe()));
    if (*protocol != kUdp)
        return fail(request, 442, "Unsupported Transport Protocol",
                    fmt::format("442: user '{}' at {} asked for relay transport {} (only UDP, 17, "
                                "is relayed)",
                                request.user, tuple.describe(), *protocol));
    if (const auto* family = message.find(attr::requested_address_family)) {
        const auto value = decode_address_family(family->value);
        if (!value || *value != (relay_address_.is_v4() ? 0x01 : 0x02))
            return fail(request, 440, "Address Family not Supported",
                        fmt::format("440: user '{}' at {} asked for a relayed address family "
                                    "this relay does not serve",
                                    request.user, tuple.describe()));
    }
    if (const unsigned quota = table_.admit(request.user); quota == 486)
        return fail(request, 486, "Allocation Quota Reached",
                    fmt::format("486: user '{}' at {} already has {} allocations, the most "
                                "max_allocations_per_user allows",
                                request.user, tuple.describe(), table_.count(request.user)));
    else if (quota == 508)
        return fail(request, 508, "Insufficient Capacity",
                    fmt::format("508: allocation for user '{}' at {} refused: {} allocations, "
                                "the most max_allocations allows",
                                request.user, tuple.describe(), table_.size()));
    const auto* even_port = message.find(attr::even_port);
    const auto* token_attribute = message.find(attr::reservation_token);
    if (even_port && (even_port->value.size() != 1 || token_attribute))
        return fail(request, 400, "Bad Request",
                    fmt::format("400: Allocate from user '{}' at {} with a malformed EVEN-PORT, "
                                "or with both EVEN-PORT and RESERVATION-TOKEN",
                                request.user, tuple.describe()));
    std::optional<asio::ip::udp::socket> socket, reserved;
    if (token_attribute) {
        const auto token = token_attribute->value.size() == 8
                               ? std::optional<std::uint64_t>(read_token(token_attribute->value))
                               : std::nullopt;
        if (token) socket = table_.take_reservation(*token);
        if (!socket)
            return fail(request, 508, "Insufficient Capacity",
                        fmt::format("508: Allocate from user '{}' at {} with an unknown or "
                                    "expired RESERVATION-TOKEN",
                                    request.user, tuple.describe()));
    } else {
        const auto parity = !even_port                     ? AllocationTable::Parity::any
                            : (even_port->value[0] & 0x80) ? AllocationTable::Parity::even_and_next
                                                           : AllocationTable::Parity::even;
        socket = table_.open_relay_socket(io_, relay_address_, parity, &reserved);
    }
    if (!socket)
        return fail(request, 508, "Insufficient Capacity",
                    fmt::format("508: allocation for user '{}' at {} refused: no free port in "
                                "the relay range {}-{}",
                                request.user, tuple.describe(), config_.relay_port_min,
                                config_.relay_port_max));
    std::optional<std::uint64_t> token;
    if (reserved) token = table_.reserve(std::move(*reserved), request.now);

    auto lifetime = config_.default_lifetime;
    if (const auto* requested = message.find(attr::lifetime))
        if (const auto seconds = decode_u32(requested->value))
            lifetime =
                std::max(config_.default_lifetime,
                         std::min<Millis>(config_.max_lifetime, std::chrono::seconds(*seconds)));
    auto advertised = advertised_endpoint(tuple);
    advertised.port(socket->local_endpoint().port());
    auto allocation =
        std::make_shared<Allocation>(std::move(*socket), advertised, tuple, request.link.keep(),
                                     request.user, *request.key, config_, log_);
    allocation->set_expiry(request.now + lifetime);
    allocation->start();

    MessageBuilder reply(message.method, Class::success, message.transaction_id);
    reply.add_xor_address(attr::xor_relayed_address, advertised);
    reply.add_u32(attr::lifetime,
                  static_cast<std::uint32_t>(
                      std::chrono::duration_cast<std::chrono::seconds>(lifetime).count()));
    reply.add_xor_address(attr::xor_mapped_address, tuple.client);
    if (token) {
        std::uint8_t bytes[8];
        for (int i = 0; i < 8; ++i) bytes[i] = static_cast<std::uint8_t>(*token >> (56 - 8 * i));
        reply.add(attr::reservation_token, bytes);
    }
    reply.add_text(attr::software, config_.software);
    request.sign(reply);
    allocation->allocate_transaction = message.transaction_id;
    allocation->allocate_response = reply.bytes();
    request.link.send(reply.bytes());
    log_.info("allocation for user '{}' from {}: relayed {}, lifetime {} s", request.user,
              tuple.describe(), endpoint_text(advertised),
              std::chrono::duration_cast<std::chrono::seconds>(lifetime).count());
    table_.insert(std::move(allocation));
}

void RequestHandler::refresh(Request& request) {
    if (!authenticate(request)) return;
    const auto allocation = allocation_of(request);
    if (!allocation) return;
    std::optional<std::uint32_t> seconds;
    if (const auto* requested = request.message.find(attr::lifetime))
        seconds = decode_u32(requested->value);
    if (seconds && *seconds == 0) {
        log_.info("allocation of user '{}' from {} deleted by the client (relayed {})",
                  request.user, request.tuple.describe(), endpoint_text(allocation->relayed()));
        table_.erase(request.tuple);
        request.answer(Class::success,
                       [](MessageBuilder& reply) { reply.add_u32(attr::lifetime, 0); });
        return;
    }
    auto lifetime = config_.default_lifetime;
    if (seconds)
        lifetime = std::max(config_.default_lifetime,
                            std::min<Millis>(config_.max_lifetime, std::chrono::seconds(*seconds)));
    allocation->set_expiry(request.now + lifetime);
    request.answer(Class::success, [&](MessageBuilder& reply) {
        reply.add_u32(attr::lifetime,
                      static_cast<std::uint32_t>(
                          std::chrono::duration_cast<std::chrono::seconds>(lifetime).count()));
    });
}

void RequestHandler::create_permission(Request& request) {
    if (!authenticate(request)) return;
    const auto allocation = allocation_of(request);
    if (!allocation) return;
    std::vector<Endpoint> peers;
    for (const auto& attribute : request.message.attributes) {
        if (attribute.type != attr::xor_peer_address) continue;
        const auto peer = peer_address(request, attribute);
        if (!peer) return;
        peers.push_back(*peer);
    }
    if (peers.empty())
        return fail(request, 400, "Bad Request",
                    fmt::format("400: CreatePermission from user '{}' at {} without "
                                "XOR-PEER-ADDRESS",
                                request.user, request.tuple.describe()));
    for (const auto& peer : peers) allocation->permit(peer.address(), request.now);
    request.answer(Class::success, [](MessageBuilder&) {});
}

void RequestHandler::channel_bind(Request& request) {
    if (!authenticate(request)) return;
    const auto allocation = allocation_of(request);
    if (!allocation) return;
    const auto* number = request.message.find(attr::channel_number);
    const auto channel = number ? decode_channel_number(number->value) : std::nullopt;
    if (!channel || *channel < kMinChannel || *channel > kMaxChannel)
        return fail(request, 400, "Bad Request",
                    fmt::format("400: ChannelBind from user '{}' at {} without a channel number "
                                "in 0x4000-0x7FFF",
                                request.user, request.tuple.describe()));
    const auto* peer_attribute = request.message.find(attr::xor_peer_address);
    if (!peer_attribute)
        return fail(request, 400, "Bad Request",
                    fmt::format("400: ChannelBind from user '{}' at {} without XOR-PEER-ADDRESS",
                                request.user, request.tuple.describe()));
    const auto peer = peer_address(request, *peer_attribute);
    if (!peer) return;
    switch (allocation->bind_channel(*channel, *peer, request.now)) {
        case Allocation::Bind::ok:
            return request.answer(Class::success, [](MessageBuilder&) {});
        case Allocation::Bind::channel_in_use:
            return fail(request, 400, "Bad Request",
                        fmt::format("400: user '{}' at {} tried to bind channel 0x{:04X}, bound "
                                    "to another peer, to {}",
                                    request.user, request.tuple.describe(), *channel,
                                    endpoint_text(*peer)));
        case Allocation::Bind::peer_in_use:
            return fail(request, 400, "Bad Request",
                        fmt::format("400: user '{}' at {} tried to bind peer {}, bound to "
                                    "another channel, to 0x{:04X}",
                                    request.user, request.tuple.describe(), endpoint_text(*peer),
                                    *channel));
    }
}

void RequestHandler::send_indication(const Message& message, const FiveTuple& tuple) {
    const auto allocation = table_.find(tuple);
    const auto* peer_attribute = message.find(attr::xor_peer_address);
    const auto* data = message.find(attr::data);
    if (!allocation || !peer_attribute || !data) return;  // indications are never answered
    const auto peer = decode_xor_address(peer_attribute->value, message.transaction_id);
    if (!peer) return;
    allocation->send_to_peer(*peer, data->value, std::chrono::steady_clock::now());
}

}  // namespace edgeway::turn
