#include "proxy/control_feed.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace edgeway::proxy {

namespace asio = boost::asio;
using asio::awaitable;

namespace {

// A set larger than this is not a set: the feed is dropped rather than buffered.
constexpr std::size_t kMaxSetBytes = 64 * 1024 * 1024;

// Reads the feed until it ends; returns why it ended.
awaitable<std::string> read_feed(LinkSession& link, const ControlFeed& feed,
                                 const std::function<bool(std::string_view)>& apply) {
    const Headers request = {{":method", "GET"},
                             {":scheme", "https"},
                             {":authority", "edgeway.internal"},
                             {":path", std::string(feed.path)},
                             {std::string(kControlHeader), std::string(feed.name)}};
    auto stream = link.open_stream(request, true);
    if (!stream) co_return "the link took no new stream";
    if (co_await stream->wait_headers()) co_return "the link failed";
    if (find_header(stream->headers(), ":status") != "200")
        co_return fmt::format("the core refused it (status {})",
                              find_header(stream->headers(), ":status"));
    std::string pending, data;
    while (!co_await stream->read(data)) {
        pending += data;
        std::size_t start = 0;
        for (auto end = pending.find('\n'); end != std::string::npos;
             end = pending.find('\n', start)) {
            if (!apply(std::string_view(pending).substr(start, end - start))) {
                stream->reset(true);
                co_return "it carried an invalid set";
            }
            start = end + 1;
        }
        pending.erase(0, start);
        if (pending.size() > kMaxSetBytes) {
            stream->reset(true);
            co_return fmt::format("it carried a set larger than {} bytes", kMaxSetBytes);
        }
    }
    co_return "the core ended it";
}

}  // namespace

awaitable<void> Broadcast::wait() {
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
}

std::string_view control_feed_of(const LinkStream& stream) {
    return find_header(stream.headers(), kControlHeader);
}

awaitable<void> serve_control_feed(std::shared_ptr<LinkStream> stream,
                                   std::function<std::shared_ptr<const std::string>()> current,
                                   Broadcast& changed) {
    if (stream->respond({{":status", "200"}, {"content-type", "application/x-ndjson"}}, false))
        co_return;
    std::shared_ptr<const std::string> sent;
    for (;;) {
        if (auto line = current(); line && line != sent) {
            if (co_await stream->write(*line)) co_return;
            sent = std::move(line);
        }
        co_await changed.wait();
    }
}

SetDecision decide(const SetVersion* held, const SetVersion& next) {
    if (!held) return SetDecision::apply;
    if (held->version == next.version) return SetDecision::same;
    if (held->cluster && next.cluster && next.version < held->version) return SetDecision::older;
    return SetDecision::apply;
}

awaitable<void> receive_control_feed(std::shared_ptr<LinkSession> link, ControlFeed feed,
                                     std::function<bool(std::string_view)> apply, Logger& log) {
    const std::string reason = co_await read_feed(*link, feed, apply);
    if (link->ready()) {
        log.error("{} from {} ended: {}; closing the link", feed.what, link->peer(), reason);
        link->close(fmt::format("the {} ended", feed.what));
    }
}

}  // namespace edgeway::proxy
