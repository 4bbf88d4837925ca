#include "proxy/websocket_frames.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <stdexcept>

namespace edgeway::proxy {
namespace {

constexpr unsigned kOpcodeClose = 0x8;
constexpr unsigned char kMaskBit = 0x80;
constexpr std::size_t kMaxControlPayload = 125;

}  // namespace

std::size_t FrameTracker::advance(std::string_view data, bool stop_at_boundary) {
    std::size_t pos = 0;
    while (pos < data.size()) {
        if (stop_at_boundary && at_boundary()) break;
        if (payload_left_ > 0) {
            const auto take =
                static_cast<std::size_t>(std::min<std::uint64_t>(payload_left_, data.size() - pos));
            payload_left_ -= take;
            pos += take;
            if (payload_left_ == 0) frame_complete();
            continue;
        }
        header_[header_have_++] = static_cast<unsigned char>(data[pos++]);
        if (header_have_ == 2) {
            const unsigned length7 = header_[1] & 0x7f;
            header_need_ = 2 +
                           (length7 == 126   ? 2
                            : length7 == 127 ? 8
                                             : 0) +
                           ((header_[1] & kMaskBit) ? 4 : 0);
        }
        if (header_have_ >= 2 && header_have_ == header_need_) header_complete();
    }
    return pos;
}

void FrameTracker::header_complete() {
    opcode_ = header_[0] & 0x0f;
    const unsigned length7 = header_[1] & 0x7f;
    std::uint64_t length = length7;
    if (length7 == 126) length = (std::uint64_t{header_[2]} << 8) | header_[3];
    if (length7 == 127) {
        length = 0;
        for (int i = 2; i < 10; ++i) length = (length << 8) | header_[i];
    }
    header_have_ = 0;
    header_need_ = 2;
    payload_left_ = length;
    if (payload_left_ == 0) frame_complete();
}

void FrameTracker::frame_complete() {
    if (opcode_ == kOpcodeClose) saw_close_ = true;
}

std::string close_frame(std::uint16_t code, std::string_view reason, bool masked) {
    std::string payload;
    payload += static_cast<char>(code >> 8);
    payload += static_cast<char>(code & 0xff);
    payload += reason.substr(0, kMaxControlPayload - 2);

    std::string frame;
    frame += static_cast<char>(0x80 | kOpcodeClose);  // FIN, Close
    frame += static_cast<char>((masked ? kMaskBit : 0) | payload.size());
    if (masked) {
        unsigned char key[4];
        if (RAND_bytes(key, sizeof key) != 1)
            throw std::runtime_error("no random bytes for a WebSocket masking key");
        frame.append(reinterpret_cast<const char*>(key), sizeof key);
        for (std::size_t i = 0; i < payload.size(); ++i)
            payload[i] = static_cast<char>(payload[i] ^ static_cast<char>(key[i % 4]));
    }
    return frame + payload;
}

}  // namespace edgeway::proxy
