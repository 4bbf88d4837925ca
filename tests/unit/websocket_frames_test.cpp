// Unit tests for following WebSocket frame boundaries in a byte stream and for the Close frames a
// drain puts in.
#include "proxy/websocket_frames.hpp"

#include <catch2/catch.hpp>

#include <string>

using edgeway::proxy::close_frame;
using edgeway::proxy::FrameTracker;

namespace {

// One frame as a peer would send it: FIN, opcode, the shortest length encoding, and with masked
// a masking key (the payload is left as it is: the tracker never looks at it).
std::string frame(unsigned opcode, std::size_t length, bool masked = false) {
    std::string bytes;
    bytes += static_cast<char>(0x80 | opcode);
    const char mask = masked ? char(0x80) : char(0);
    if (length < 126) {
        bytes += static_cast<char>(mask | static_cast<char>(length));
    } else if (length <= 0xffff) {
        bytes += static_cast<char>(mask | 126);
        bytes += static_cast<char>(length >> 8);
        bytes += static_cast<char>(length & 0xff);
    } else {
        bytes += static_cast<char>(mask | 127);
        for (int shift = 56; shift >= 0; shift -= 8)
            bytes += static_cast<char>((std::uint64_t{length} >> shift) & 0xff);
    }
    if (masked) bytes += "KEY!";
    return bytes + std::string(length, 'p');
}

}  // namespace

TEST_CASE("frame boundaries are found whatever the pieces the bytes arrive in",
          "[unit][websocket]") {
    const std::string stream = frame(0x1, 5) + frame(0x2, 300, true) + frame(0x2, 70000) +
                               frame(0x9, 0, true) + frame(0x1, 125);
    for (const std::size_t piece :
         {std::size_t{1}, std::size_t{3}, std::size_t{7}, std::size_t{4096}, stream.size()}) {
        INFO("pieces of " << piece);
        FrameTracker tracker;
        std::size_t boundaries = 0;
        for (std::size_t pos = 0; pos < stream.size(); pos += piece) {
            const std::string_view part = std::string_view(stream).substr(pos, piece);
            CHECK(tracker.advance(part) == part.size());
            boundaries += tracker.at_boundary();
        }
        CHECK(tracker.at_boundary());
        CHECK_FALSE(tracker.saw_close());
        if (piece == 1) CHECK(boundaries == 5);
    }
}

TEST_CASE("stop_at_boundary takes the bytes up to the end of the frame under way",
          "[unit][websocket]") {
    const std::string first = frame(0x2, 200);
    const std::string stream = first + frame(0x1, 10);
    FrameTracker tracker;
    CHECK(tracker.advance(stream.substr(0, 3)) == 3);  // inside the first frame's header
    CHECK_FALSE(tracker.at_boundary());
    // The rest of the first frame is taken, nothing of the second.
    CHECK(tracker.advance(std::string_view(stream).substr(3), true) == first.size() - 3);
    CHECK(tracker.at_boundary());
    // Between frames already: nothing is taken.
    CHECK(tracker.advance(std::string_view(stream).substr(first.size()), true) == 0);
}

TEST_CASE("a Close frame passing is noticed, and drain Close frames are well formed",
          "[unit][websocket]") {
    FrameTracker tracker;
    tracker.advance(frame(0x1, 4) + frame(0x8, 2, true));
    CHECK(tracker.saw_close());

    const std::string plain = close_frame(1012, "service restart", false);
    REQUIRE(plain.size() == 2 + 2 + 15);
    CHECK(static_cast<unsigned char>(plain[0]) == 0x88);
    CHECK(static_cast<unsigned char>(plain[1]) == 17);
    CHECK(static_cast<unsigned char>(plain[2]) == 0x03);  // 1012 = 0x03f4
    CHECK(static_cast<unsigned char>(plain[3]) == 0xf4);
    CHECK(plain.substr(4) == "service restart");

    const std::string masked = close_frame(1012, "service restart", true);
    REQUIRE(masked.size() == 2 + 4 + 17);
    CHECK(static_cast<unsigned char>(masked[1]) == (0x80 | 17));
    std::string unmasked;
    for (std::size_t i = 0; i < 17; ++i)
        unmasked += static_cast<char>(masked[6 + i] ^ masked[2 + i % 4]);
    CHECK(unmasked == plain.substr(2));

    FrameTracker after;
    CHECK(after.advance(masked) == masked.size());
    CHECK(after.saw_close());
    CHECK(after.at_boundary());
}
