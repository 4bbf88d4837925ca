#include "proxy/link_stream.hpp"

#include "proxy/link_session.hpp"

#include <nghttp2/nghttp2.h>
#include <boost/asio/error.hpp>

#include <algorithm>
#include <cstring>

namespace edgeway::proxy {
namespace {

// Queued outgoing bytes above which write() waits, and below which it resumes. A quarter of the
// default stream window keeps the pipe full without holding much per stream.
constexpr std::size_t kHighWater = 256 * 1024;
constexpr std::size_t kLowWater = 64 * 1024;
// Buffer capacity kept by a stream whose queue has emptied.
constexpr std::size_t kKeepWhenEmpty = 4096;

}  // namespace

std::string_view find_header(const Headers& headers, std::string_view name) {
    for (const auto& h : headers)
        if (h.name == name) return h.value;
    return {};
}

LinkStream::LinkStream(LinkSession& session, const boost::asio::any_io_executor& executor)
    : session_(session.weak_from_this()),
      headers_ready_(executor),
      readable_(executor),
      writable_(executor) {}

LinkStream::~LinkStream() {
    // Bytes the peer sent that nobody will read still count against the link's window.
    if (auto session = session_.lock()) session->consume(id_, handed_out_ + in_.size());
}

boost::asio::awaitable<boost::system::error_code> LinkStream::wait_headers() {
    while (!headers_complete_) {
        if (failure_) co_return failure_;
        co_await headers_ready_.wait();
    }
    co_return error_code{};
}

void LinkStream::acknowledge_handed_out() {
    if (handed_out_ > 0)
        if (auto session = session_.lock()) session->consume(id_, handed_out_);
    handed_out_ = 0;
}

boost::asio::awaitable<boost::system::error_code> LinkStream::read(std::string& out) {
    acknowledge_handed_out();
    for (;;) {
        if (!in_.empty()) {
            out.clear();
            out.swap(in_);
            handed_out_ = out.size();
            co_return error_code{};
        }
        if (peer_ended_) co_return boost::asio::error::eof;
        if (failure_) co_return failure_;
        co_await readable_.wait();
    }
}

boost::asio::awaitable<boost::system::error_code> LinkStream::write(std::string_view data) {
    for (;;) {
        if (failure_) co_return failure_;
        if (closed_ || session_.expired() || finishing_)
            co_return boost::asio::error::connection_reset;
        if (out_.size() - out_pos_ < kHighWater) break;
        co_await writable_.wait();
    }
    if (out_pos_ == out_.size()) {
        out_.clear();
        out_pos_ = 0;
    }
    out_.append(data);
    if (auto session = session_.lock()) session->resume(id_);
    co_return error_code{};
}

void LinkStream::finish() {
    if (finishing_ || closed_) return;
    finishing_ = true;
    if (auto session = session_.lock()) session->resume(id_);
}

void LinkStream::reset(bool failed) {
    if (closed_ || (peer_ended_ && finishing_)) return;
    closed_ = true;
    if (!failure_) failure_ = boost::asio::error::operation_aborted;
    if (auto session = session_.lock())
        session->reset_stream(id_, failed ? NGHTTP2_INTERNAL_ERROR : NGHTTP2_CANCEL);
    readable_.notify();
    writable_.notify();
    headers_ready_.notify();
}

boost::system::error_code LinkStream::respond(const Headers& headers, bool end_stream) {
    auto session = session_.lock();
    if (!session || closed_) return boost::asio::error::connection_reset;
    // With end_stream our side is complete; a later reset() must not cancel the response.
    if (end_stream) finishing_ = true;
    return session->submit_response(*this, headers, end_stream);
}

void LinkStream::on_header(std::string_view name, std::string_view value) {
    // A second header block is trailers (or a final response after 1xx): only the final
    // response's block is kept.
    if (headers_complete_) return;
    headers_.push_back({std::string(name), std::string(value)});
}

void LinkStream::on_headers_complete(bool end_stream) {
    if (!headers_complete_) {
        // Interim responses (1xx) are not passed on: wait for the final one.
        const std::string_view status = find_header(headers_, ":status");
        if (status.size() == 3 && status[0] == '1') {
            headers_.clear();
        } else {
            headers_complete_ = true;
            ended_with_headers_ = end_stream;
            headers_ready_.notify();
        }
    }
    if (end_stream) on_peer_end();
}

void LinkStream::on_data(const std::uint8_t* data, std::size_t length) {
    in_.append(reinterpret_cast<const char*>(data), length);
    bytes_received_ += length;
    readable_.notify();
}

void LinkStream::on_peer_end() {
    peer_ended_ = true;
    readable_.notify();
}

void LinkStream::on_closed(std::uint32_t h2_error) {
    closed_ = true;
    refused_ = h2_error == NGHTTP2_REFUSED_STREAM && !headers_complete_;
    if (!failure_ && (h2_error != NGHTTP2_NO_ERROR || !peer_ended_))
        failure_ = boost::asio::error::connection_reset;
    readable_.notify();
    writable_.notify();
    headers_ready_.notify();
}

void LinkStream::on_link_down() {
    // Unread bytes need no acknowledging any more: the window they used is gone.
    session_.reset();
    closed_ = true;
    if (!peer_ended_ || !headers_complete_) failure_ = boost::asio::error::connection_aborted;
    readable_.notify();
    writable_.notify();
    headers_ready_.notify();
}

long LinkStream::provide(std::uint8_t* buf, std::size_t length, std::uint32_t* flags) {
    const std::size_t available = out_.size() - out_pos_;
    if (available == 0) {
        if (finishing_) {
            *flags |= NGHTTP2_DATA_FLAG_EOF;
            return 0;
        }
        return NGHTTP2_ERR_DEFERRED;
    }
    const std::size_t n = std::min(available, length);
    std::memcpy(buf, out_.data() + out_pos_, n);
    out_pos_ += n;
    bytes_sent_ += n;
    if (out_pos_ == out_.size()) {
        // All sent: a long-lived stream (a WebSocket) going quiet keeps no large buffer.
        if (out_.capacity() > kKeepWhenEmpty)
            std::string().swap(out_);
        else
            out_.clear();
        out_pos_ = 0;
        if (finishing_) *flags |= NGHTTP2_DATA_FLAG_EOF;
    }
    if (available - n < kLowWater) writable_.notify();
    return static_cast<long>(n);
}

}  // namespace edgeway::proxy
