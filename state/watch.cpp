// The watch: one coroutine on the watch's own thread that keeps a streaming POST /v3/watch
// open to one member, turns each JSON line of the answer into events, and on any break moves
// to the next member and asks again from the revision after the last one it delivered.
#include "state/state.hpp"

#include "state/connection.hpp"
#include "state/member_errors.hpp"
#include "state/wire.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <thread>

namespace edgeway::state {

namespace asio = boost::asio;
using asio::awaitable;
using wire::json;

namespace {

// Waits between attempts once every member failed: short, since a member that is back should
// serve again well within a second, and growing so that a long outage costs little.
constexpr Millis kRetryMin{100};
constexpr Millis kRetryMax{1000};

}  // namespace

struct Watch::Impl {
    Impl(EtcdOptions o, std::string p, std::int64_t from, Handlers h)
        : options(std::move(o)),
          prefix(std::move(p)),
          next_revision(from),
          handlers(std::move(h)),
          tls(make_tls_context(options)) {
        for (const auto& url : options.endpoints) endpoints.push_back(parse_endpoint(url));
        if (endpoints.empty()) throw Error("no etcd endpoint configured");
    }

    EtcdOptions options;
    std::string prefix;
    std::int64_t next_revision;  // 0: from now on
    Handlers handlers;
    std::shared_ptr<asio::ssl::context> tls;
    std::vector<Endpoint> endpoints;
    std::size_t current = 0;
    bool reported_lost = false;
    bool established = false;  // the current attempt got its stream
    asio::io_context io{1};
    std::thread thread;

    json create_request() const {
        const std::string key = options.prefix + prefix;
        json create = {{"key", wire::base64(key)}, {"range_end", wire::base64(prefix_end(key))}};
        if (next_revision > 0) create["start_revision"] = std::to_string(next_revision);
        return {{"create_request", create}};
    }

    void lost(const std::string& problem) {
        if (reported_lost) return;
        reported_lost = true;
        if (handlers.lost) handlers.lost(problem);
    }

    // The watch's revision was compacted away: read everything again, go on after it.
    void reset() {
        Client client(options);
        const Range everything = client.get_prefix(prefix);
        next_revision = everything.revision + 1;
        if (handlers.reset) handlers.reset(everything);
    }

    // Handles one line of the stream; false when the stream must be given up.
    bool handle_line(std::string_view line, std::string& problem) {
        const json message = json::parse(line, nullptr, false);
        if (!message.is_object()) {
            problem = "etcd sent a watch message that is not JSON";
            return false;
        }
        if (message.contains("error")) {
            problem = gateway_error({503, std::string(line)}).message;
            return false;
        }
        const json& result = message.value("result", json::object());
        if (result.value("canceled", false)) {
            if (wire::number(result, "compact_revision") > 0) {
                reset();
                problem = "";  // not an outage: ask again at once from after the re-read
            } else {
                problem = result.value("cancel_reason", std::string("the watch was cancelled"));
            }
            return false;
        }
        if (result.value("created", false)) {
            reported_lost = false;
            established = true;
            if (next_revision == 0)
                next_revision =
                    wire::number(result.value("header", json::object()), "revision") + 1;
            if (handlers.connected) handlers.connected();
        }
        const auto events = result.find("events");
        if (events == result.end() || !events->is_array() || events->empty()) return true;
        std::vector<WatchEvent> batch;
        for (const auto& event : *events) {
            WatchEvent out;
            out.type = event.value("type", "PUT") == "DELETE" ? WatchEvent::Type::erase
                                                              : WatchEvent::Type::put;
            out.kv = wire::key_value(event.value("kv", json::object()), options.prefix);
            next_revision = std::max(next_revision, out.kv.mod_revision + 1);
            batch.push_back(std::move(out));
        }
        if (handlers.events) handlers.events(batch, next_revision - 1);
        return true;
    }

    // One stream, until it breaks; returns why (empty: ask again at once).
    awaitable<std::string> follow(const Endpoint& endpoint) {
        Connection connection(io.get_executor(), endpoint, tls.get());
        co_await connection.open(options.timeout);
        const unsigned status = co_await connection.post_streaming(
            "/v3/watch", create_request().dump(), options.timeout);
        if (status != 200) {
            const std::string body = co_await connection.read_body();
            co_return gateway_error({status, body}).message;
        }
        std::string pending, problem;
        for (;;) {
            const std::string piece = co_await connection.read_body();
            if (piece.empty()) co_return "the member ended the watch";
            pending += piece;
            std::size_t start = 0;
            for (auto end = pending.find('\n'); end != std::string::npos;
                 end = pending.find('\n', start)) {
                const auto line = std::string_view(pending).substr(start, end - start);
                start = end + 1;
                if (line.find_first_not_of(" \r\t") == std::string_view::npos) continue;
                if (!handle_line(line, problem)) co_return problem;
            }
            pending.erase(0, start);
        }
    }

    awaitable<void> run() {
        asio::steady_timer timer(io);
        Millis retry = kRetryMin;
        MemberErrors errors;
        std::size_t failed_in_a_row = 0;
        for (;;) {
            const Endpoint& endpoint = endpoints[current];
            std::string problem;
            established = false;
            try {
                problem = co_await follow(endpoint);
                if (problem.empty()) continue;
            } catch (const boost::system::system_error& e) {
                problem = describe_failure(e.code(), options.timeout);
            } catch (const std::exception& e) {
                problem = e.what();
            }
            if (established) {  // it worked for a while: a new round of members
                errors = MemberErrors();
                failed_in_a_row = 0;
                retry = kRetryMin;
            }
            errors.add(current, endpoint, problem);
            current = (current + 1) % endpoints.size();
            if (++failed_in_a_row < endpoints.size()) continue;
            // Every member failed once: tell, wait a little, and go round again.
            lost(errors.summary());
            errors = MemberErrors();
            failed_in_a_row = 0;
            timer.expires_after(retry);
            co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
            retry = std::min(retry * 2, kRetryMax);
        }
    }
};

Watch::Watch(EtcdOptions options, std::string prefix, std::int64_t from_revision, Handlers handlers)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(prefix), from_revision,
                                   std::move(handlers))) {
    Impl& impl = *impl_;
    asio::co_spawn(impl.io, impl.run(), asio::detached);
    impl.thread = std::thread([&impl] { impl.io.run(); });
}

Watch::~Watch() {
    impl_->io.stop();
    impl_->thread.join();
}

}  // namespace edgeway::state
