// The read buffer of one direction of a byte relay (a WebSocket on either hop). It exists only
// while bytes flow: most WebSockets of a meeting sit idle most of the time, and an idle one
// should cost its TLS state and little else.
#pragma once

#include "tls/stream.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <boost/optional/optional.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string_view>
#include <tuple>

namespace edgeway::proxy {

class RelayBuffer {
  public:
    static constexpr std::size_t kSize = 64 * 1024;

    bool allocated() const { return data_ != nullptr; }
    boost::asio::mutable_buffer get() {
        // Not value-initialised: pages are only touched as bytes arrive.
        if (!data_) data_.reset(new char[kSize]);
        return {data_.get(), kSize};
    }
    std::string_view view(std::size_t n) const { return {data_.get(), n}; }
    // A read that did not fill the buffer means the sender paused: give the memory back.
    void release_if_quiet(std::size_t n) {
        if (n < kSize) data_.reset();
    }

  private:
    std::unique_ptr<char[]> data_;
};

// The buffer for streaming a body of the given length (unknown: chunked or until close): small
// answers, the most common, get a small buffer; large ones pieces of up to 64 KiB.
inline std::size_t body_buffer_size(boost::optional<std::uint64_t> content_length) {
    if (!content_length) return RelayBuffer::kSize;
    return static_cast<std::size_t>(
        std::clamp<std::uint64_t>(*content_length, 1, RelayBuffer::kSize));
}

// Reads what has arrived into buffer. Without a buffer allocated it first waits, holding none,
// until the stream turns readable.
inline boost::asio::awaitable<std::tuple<boost::system::error_code, std::size_t>> relay_read(
    tls::Stream& stream, RelayBuffer& buffer) {
    using boost::asio::as_tuple;
    using boost::asio::use_awaitable;
    if (!buffer.allocated()) {
        auto [ec] = co_await stream.async_wait_readable(as_tuple(use_awaitable));
        if (ec) co_return std::tuple{ec, std::size_t{0}};
    }
    co_return co_await stream.async_read_some(buffer.get(), as_tuple(use_awaitable));
}

}  // namespace edgeway::proxy
