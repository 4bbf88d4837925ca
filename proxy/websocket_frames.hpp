// Where the frames of a WebSocket byte stream begin and end (RFC 6455 section 5.2), followed as
// the bytes pass through a proxy hop without being buffered or changed: enough to know where a
// control frame of our own (the Close of a drain) may be put in without breaking a frame.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace edgeway::proxy {

class FrameTracker {
  public:
    // Takes the next bytes of the stream and returns how many it took: all of them, or with
    // stop_at_boundary only those up to the end of the frame under way (0 when the stream is
    // between two frames already).
    std::size_t advance(std::string_view data, bool stop_at_boundary = false);

    // Between two frames: no frame header or payload is under way.
    bool at_boundary() const { return header_have_ == 0 && payload_left_ == 0; }
    // A Close frame has passed whole.
    bool saw_close() const { return saw_close_; }

  private:
    void header_complete();
    void frame_complete();

    unsigned char header_[14]{};  // the longest header: 2 + 8 (length) + 4 (masking key)
    std::size_t header_have_ = 0;
    std::size_t header_need_ = 2;
    std::uint64_t payload_left_ = 0;
    unsigned opcode_ = 0;
    bool saw_close_ = false;
};

// RFC 6455 close code 1012: the server is restarting; a client may reconnect at once.
constexpr std::uint16_t kCloseServiceRestart = 1012;

// A Close frame with code and reason. Masked (with a random key) when it goes to a server, as
// a client's frames must be; unmasked towards a client.
std::string close_frame(std::uint16_t code, std::string_view reason, bool masked);

}  // namespace edgeway::proxy
