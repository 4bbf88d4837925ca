// The STUN codec against the RFC 5769 test vectors, and its bounds checks on bad input.
#include "turn/integrity.hpp"
#include "turn/stun_codec.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace edgeway::turn::stun;

namespace {

Bytes from_hex(const std::string& hex) {
    Bytes out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(static_cast<std::uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return out;
}

ByteView text(const std::string& s) {
    return ByteView(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

// RFC 5769 2.1: sample request, short-term credential (the key is the password itself).
const Bytes kSampleRequest = from_hex(
    "000100582112a442b7e7a701bc34d686fa87dfae"
    "802200105354554e207465737420636c69656e74"
    "002400046e0001ff"
    "80290008932ff9b151263b36"
    "000600096576746a3a68367659202020"
    "000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a2"
    "80280004e57a3bcf");
// RFC 5769 2.2 and 2.3: sample IPv4 and IPv6 responses.
const Bytes kIpv4Response = from_hex(
    "0101003c2112a442b7e7a701bc34d686fa87dfae"
    "8022000b7465737420766563746f7220"
    "002000080001a147e112a643"
    "000800142b91f599fd9e90c38c7489f92af9ba53f06be7d7"
    "80280004c07d4c96");
const Bytes kIpv6Response = from_hex(
    "010100482112a442b7e7a701bc34d686fa87dfae"
    "8022000b7465737420766563746f7220"
    "002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d9"
    "00080014a382954e4be67bf11784c97c8292c275bfe3ed41"
    "80280004c8fb0b4c");
// RFC 5769 2.4: request with the long-term credential mechanism.
const Bytes kLongTermRequest = from_hex(
    "000100602112a442"
    "78ad3433c6ad72c029da412e"
    "00060012e3839ee38388e383aae38383e382afe382b90000"
    "0015001c662f2f3439396b39353464364f4c33346f4c39465354767936347341"
    "0014000b6578616d706c652e6f726700"
    "00080014f67024656dd64a3e02b8e0712e85c9a28ca89666");
const std::string kShortTermPassword = "VOkJxbRl1RmTxUk/WvJxBt";

}  // namespace

TEST_CASE("turn codec: RFC 5769 sample request passes integrity and fingerprint", "[turn][unit]") {
    const auto result = parse(kSampleRequest);
    REQUIRE(result.error == ParseError::ok);
    const auto& message = *result.message;
    CHECK(message.method == method::binding);
    CHECK(message.cls == Class::request);
    const auto* username = message.find(attr::username);
    REQUIRE(username);
    CHECK(*decode_text(username->value, kMaxUsername) == "evtj:h6vY");
    CHECK(check_integrity(message, text(kShortTermPassword)) == IntegrityCheck::ok);
    CHECK(check_integrity(message, text("wrong")) == IntegrityCheck::mismatch);
    // PRIORITY (0x0024) and ICE-CONTROLLED (0x8029) are ICE's: not this server's to know.
    CHECK(message.unknown_required() == std::vector<std::uint16_t>{0x0024});
}

TEST_CASE("turn codec: a changed byte fails the RFC 5769 fingerprint", "[turn][unit]") {
    Bytes tampered = kSampleRequest;
    tampered[30] ^= 0x01;  // inside SOFTWARE
    CHECK(parse(tampered).error == ParseError::fingerprint_mismatch);
}

TEST_CASE("turn codec: RFC 5769 IPv4 and IPv6 responses decode and verify", "[turn][unit]") {
    for (const auto* vector : {&kIpv4Response, &kIpv6Response}) {
        const auto result = parse(*vector);
        REQUIRE(result.error == ParseError::ok);
        const auto& message = *result.message;
        CHECK(message.cls == Class::success);
        const auto* mapped = message.find(attr::xor_mapped_address);
        REQUIRE(mapped);
        const auto endpoint = decode_xor_address(mapped->value, message.transaction_id);
        REQUIRE(endpoint);
        CHECK(endpoint->port() == 32853);
        CHECK(endpoint->address().to_string() ==
              (vector == &kIpv4Response ? "192.0.2.1" : "2001:db8:1234:5678:11:2233:4455:6677"));
        CHECK(check_integrity(message, text(kShortTermPassword)) == IntegrityCheck::ok);
    }
}

TEST_CASE("turn codec: RFC 5769 long-term request verifies with MD5(user:realm:password)",
          "[turn][unit]") {
    const auto result = parse(kLongTermRequest);
    REQUIRE(result.error == ParseError::ok);
    const auto& message = *result.message;
    const auto username = std::string(*decode_text(message.find(attr::username)->value, 513));
    const auto realm = std::string(*decode_text(message.find(attr::realm)->value, 763));
    CHECK(realm == "example.org");
    CHECK(*decode_text(message.find(attr::nonce)->value, 763) == "f//499k954d6OL34oL9FSTvy64sA");
    // The password after SASLprep is "TheMatrIX".
    const auto key = long_term_key(username, realm, "TheMatrIX");
    CHECK(check_integrity(message, key) == IntegrityCheck::ok);
    CHECK(check_integrity(message, long_term_key(username, realm, "TheMatrix")) ==
          IntegrityCheck::mismatch);
}

TEST_CASE("turn codec: built messages round-trip with both integrities and a fingerprint",
          "[turn][unit]") {
    const TransactionId id{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    const auto key = long_term_key("user", "realm", "pass");
    MessageBuilder builder(method::allocate, Class::success, id);
    const Endpoint relayed(boost::asio::ip::make_address("203.0.113.7"), 24002);
    const Endpoint v6(boost::asio::ip::make_address("2001:db8::1"), 5000);
    builder.add_xor_address(attr::xor_relayed_address, relayed);
    builder.add_xor_address(attr::xor_mapped_address, v6);
    builder.add_u32(attr::lifetime, 600);
    builder.add_text(attr::software, "edgeway");  // 7 bytes: padded
    builder.add_integrity(key);
    builder.add_integrity_sha256(key);
    builder.add_fingerprint();
    const auto bytes = builder.bytes();
    CHECK(bytes.size() % 4 == 0);
    CHECK(bytes[0] == 0x01);
    CHECK(bytes[1] == 0x03);  // Allocate success

    const auto result = parse(bytes);
    REQUIRE(result.error == ParseError::ok);
    const auto& message = *result.message;
    CHECK(message.method == method::allocate);
    CHECK(message.transaction_id == id);
    CHECK(*decode_xor_address(message.find(attr::xor_relayed_address)->value, id) == relayed);
    CHECK(*decode_xor_address(message.find(attr::xor_mapped_address)->value, id) == v6);
    CHECK(*decode_u32(message.find(attr::lifetime)->value) == 600);
    CHECK(message.integrity_offset != 0);
    CHECK(message.integrity_sha256_offset != 0);
    CHECK(check_integrity(message, key) == IntegrityCheck::ok);  // SHA-256 checked first
    CHECK(check_integrity(message, long_term_key("user", "realm", "x")) ==
          IntegrityCheck::mismatch);
}

TEST_CASE("turn codec: message types encode class and method bits", "[turn][unit]") {
    CHECK(message_type(method::binding, Class::request) == 0x0001);
    CHECK(message_type(method::binding, Class::success) == 0x0101);
    CHECK(message_type(method::allocate, Class::error) == 0x0113);
    CHECK(message_type(method::data, Class::indication) == 0x0017);
    CHECK(message_type(method::channel_bind, Class::success) == 0x0109);
}

TEST_CASE("turn codec: every truncation of a message is refused without reading past it",
          "[turn][unit]") {
    for (std::size_t size = 0; size < kSampleRequest.size(); ++size) {
        const auto result = parse(ByteView(kSampleRequest.data(), size));
        INFO("size " << size);
        CHECK(result.error != ParseError::ok);
    }
}

TEST_CASE("turn codec: attribute lengths are checked against the message", "[turn][unit]") {
    const TransactionId id{};
    SECTION("an attribute running past the end is a bad attribute, with the header known") {
        MessageBuilder builder(method::binding, Class::request, id);
        builder.add_text(attr::username, "abcd");
        Bytes bytes = builder.bytes();
        bytes[22] = 0x00;
        bytes[23] = 0x40;  // USERNAME claims 64 bytes; 4 are there
        const auto result = parse(bytes);
        CHECK(result.error == ParseError::bad_attribute);
        REQUIRE(result.message);
        CHECK(result.message->cls == Class::request);
    }
    SECTION("a header length other than what arrived") {
        MessageBuilder builder(method::binding, Class::request, id);
        Bytes bytes = builder.bytes();
        bytes.push_back(0);
        bytes.push_back(0);
        bytes.push_back(0);
        bytes.push_back(0);
        CHECK(parse(bytes).error == ParseError::length_mismatch);
    }
    SECTION("a half attribute header") {
        Bytes bytes = MessageBuilder(method::binding, Class::request, id).bytes();
        bytes.insert(bytes.end(), {0x00, 0x06, 0x00, 0x00});
        bytes[3] = 2;  // the length says 2 (not a multiple of 4: not STUN)
        CHECK(parse(bytes).error == ParseError::not_stun);
    }
    SECTION("wrong sizes of fixed-size attributes") {
        const std::uint8_t three[3] = {0, 1, 2};
        CHECK_FALSE(decode_u32(three));
        CHECK_FALSE(decode_channel_number(three));
        CHECK_FALSE(decode_requested_transport(three));
        const std::uint8_t bad_family[8] = {0, 3, 0, 0, 1, 2, 3, 4};
        CHECK_FALSE(decode_xor_address(bad_family, id));
        const std::uint8_t short_v6[8] = {0, 2, 0, 0, 1, 2, 3, 4};
        CHECK_FALSE(decode_xor_address(short_v6, id));
        const std::uint8_t bad_error[4] = {0, 0, 9, 0};
        CHECK_FALSE(decode_error_code(bad_error));
        CHECK_FALSE(decode_text(Bytes(514, 'a'), kMaxUsername));
    }
    SECTION("an attribute after FINGERPRINT") {
        MessageBuilder builder(method::binding, Class::request, id);
        builder.add_fingerprint();
        builder.add_text(attr::software, "x");
        CHECK(parse(builder.bytes()).error == ParseError::bad_attribute);
    }
    SECTION("more attributes than any client sends") {
        MessageBuilder builder(method::binding, Class::request, id);
        for (std::size_t i = 0; i <= kMaxAttributes; ++i) builder.add_text(attr::software, "x");
        CHECK(parse(builder.bytes()).error == ParseError::bad_attribute);
    }
    SECTION("not STUN at all") {
        const Bytes zeros(20, 0);
        CHECK(parse(zeros).error == ParseError::not_stun);  // no magic cookie
        const Bytes tls{0x16, 0x03, 0x01, 0x00, 0x10};
        CHECK(parse(tls).error == ParseError::not_stun);
    }
}

TEST_CASE("turn codec: unknown comprehension-required attributes are listed once", "[turn][unit]") {
    MessageBuilder builder(method::allocate, Class::request, TransactionId{});
    builder.add_u32(0x7001, 1);
    builder.add_u32(attr::requested_transport, 17u << 24);
    builder.add_u32(0x7001, 2);
    builder.add_u32(0xC001, 3);  // comprehension-optional: ignored
    builder.add_u32(0x001A, 0);  // DONT-FRAGMENT: not supported
    const auto result = parse(builder.bytes());
    REQUIRE(result.error == ParseError::ok);
    CHECK(result.message->unknown_required() == std::vector<std::uint16_t>{0x7001, 0x001A});
}

TEST_CASE("turn codec: ChannelData framing", "[turn][unit]") {
    Bytes out;
    const std::uint8_t payload[5] = {1, 2, 3, 4, 5};
    write_channel_data(out, 0x4001, payload, true);
    CHECK(out.size() == 12);  // padded for TCP
    CHECK(*stream_frame_size(out) == 12);
    const auto data = parse_channel_data(out);
    REQUIRE(data);
    CHECK(data->channel == 0x4001);
    CHECK(data->data.size() == 5);
    Bytes unpadded;
    write_channel_data(unpadded, 0x4001, payload, false);
    CHECK(unpadded.size() == 9);
    CHECK(parse_channel_data(unpadded));
    unpadded.pop_back();  // the length says 5, 4 are there
    CHECK_FALSE(parse_channel_data(unpadded));
    CHECK_FALSE(stream_frame_size(ByteView(out.data(), 3)));
    const std::uint8_t junk[4] = {0xC0, 0, 0, 0};
    CHECK(*stream_frame_size(junk) == 0);
}
