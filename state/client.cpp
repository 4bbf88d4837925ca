// The synchronous client: each request runs as a coroutine on the client's own io_context,
// which the calling thread drives until it is done; the Beast stream's timer bounds each try.
#include "state/state.hpp"

#include "state/connection.hpp"
#include "state/member_errors.hpp"
#include "state/wire.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <thread>

namespace edgeway::state {

namespace asio = boost::asio;
using wire::json;

Unavailable::Unavailable(std::string detail)
    : Error("the cluster store is unreachable (" + detail + ")"), detail_(std::move(detail)) {}

const KeyValue* Range::find(std::string_view key) const {
    for (const auto& kv : kvs)
        if (kv.key == key) return &kv;
    return nullptr;
}

std::string describe(const EtcdOptions& options) {
    return fmt::format("etcd at {}", fmt::join(options.endpoints, ", "));
}

std::string prefix_end(std::string_view prefix) {
    std::string end(prefix);
    while (!end.empty()) {
        auto& last = reinterpret_cast<unsigned char&>(end.back());
        if (last < 0xff) {
            ++last;
            return end;
        }
        end.pop_back();
    }
    return std::string(1, '\0');  // every key
}

namespace {

constexpr Millis kRoundPause{50};

// Runs a coroutine on io until it is done, on this thread; rethrows what it threw.
template <typename T>
T run(asio::io_context& io, asio::awaitable<T> operation) {
    std::exception_ptr error;
    std::optional<T> result;
    asio::co_spawn(io, std::move(operation), [&](std::exception_ptr e, T value) {
        error = e;
        if (!e) result = std::move(value);
    });
    io.restart();
    io.run();
    if (error) std::rethrow_exception(error);
    return std::move(*result);
}

}  // namespace

struct Client::Impl {
    explicit Impl(EtcdOptions o) : options(std::move(o)), tls(make_tls_context(options)) {
        if (options.endpoints.empty()) throw Error("no etcd endpoint configured");
        for (const auto& url : options.endpoints) endpoints.push_back(parse_endpoint(url));
    }

    EtcdOptions options;
    std::vector<Endpoint> endpoints;
    std::shared_ptr<asio::ssl::context> tls;
    asio::io_context io{1};
    std::size_t current = 0;  // the member asked first
    std::unique_ptr<Connection> connection;

    asio::awaitable<Answer> exchange(const Endpoint& endpoint, const std::string& path,
                                     const std::string& body, Millis timeout) {
        // A kept connection the member has closed meanwhile fails at once: one fresh try.
        if (connection && connection->reusable()) {
            try {
                co_return co_await connection->post(path, body, timeout);
            } catch (const boost::system::system_error& e) {
                // A member that does not answer in time gets no second try here.
                if (e.code() == boost::beast::error::timeout) throw;
                connection.reset();
            }
        }
        connection = std::make_unique<Connection>(io.get_executor(), endpoint, tls.get());
        co_await connection->open(timeout);
        co_return co_await connection->post(path, body, timeout);
    }

    json call(const std::string& path, const json& request) {
        using Clock = std::chrono::steady_clock;
        const std::string body = request.dump();
        // While the members elect a leader (a leader stopped: about an election timeout), the
        // others answer "no leader" or hold the request: rounds are tried again for up to twice
        // the timeout. When no member answers at all (refused), there is nothing to wait for.
        const auto deadline = Clock::now() + 2 * options.timeout;
        MemberErrors errors;
        for (;;) {
            bool worth_waiting = false;
            for (std::size_t tried = 0; tried < endpoints.size(); ++tried) {
                const auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
                if (left <= Millis(0)) break;
                const Millis timeout = std::min(options.timeout, left);
                const Endpoint& endpoint = endpoints[current];
                Answer answer;
                try {
                    answer = run(io, exchange(endpoint, path, body, timeout));
                } catch (const boost::system::system_error& e) {
                    worth_waiting = worth_waiting || e.code() == boost::beast::error::timeout;
                    errors.add(current, endpoint, describe_failure(e.code(), timeout));
                    next_member();
                    continue;
                }
                if (!connection->reusable()) connection.reset();
                if (answer.status == 200) {
                    auto parsed = json::parse(answer.body, nullptr, false);
                    if (!parsed.is_object())
                        throw Error(fmt::format("etcd at {} sent an answer that is not JSON",
                                                endpoint.url));
                    return parsed;
                }
                const GatewayError error = gateway_error(answer);
                if (!error.member_unavailable)
                    throw Error(fmt::format("etcd at {}: {}", endpoint.url, error.message));
                errors.add(current, endpoint, error.message);
                worth_waiting = true;
                next_member();
            }
            if (!worth_waiting || Clock::now() + kRoundPause >= deadline)
                throw Unavailable(errors.summary());
            std::this_thread::sleep_for(kRoundPause);
        }
    }

    void next_member() {
        connection.reset();
        current = (current + 1) % endpoints.size();
    }

    Range range(const json& request) {
        const json answer = call("/v3/kv/range", request);
        Range result;
        result.revision = wire::number(answer.value("header", json::object()), "revision");
        if (const auto it = answer.find("kvs"); it != answer.end() && it->is_array())
            for (const auto& kv : *it) result.kvs.push_back(wire::key_value(kv, options.prefix));
        return result;
    }
};

Client::Client(EtcdOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Client::~Client() = default;

const EtcdOptions& Client::options() const {
    return impl_->options;
}

Range Client::get(std::string_view key) {
    return impl_->range(wire::range_request(impl_->options.prefix + std::string(key), nullptr, {}));
}

Range Client::get_prefix(std::string_view prefix, const RangeOptions& options) {
    const std::string key = impl_->options.prefix + std::string(prefix);
    const std::string end = prefix_end(key);
    return impl_->range(wire::range_request(key, &end, options));
}

std::int64_t Client::put(std::string_view key, std::string_view value, std::int64_t lease) {
    json request = {{"key", wire::base64(impl_->options.prefix + std::string(key))},
                    {"value", wire::base64(value)}};
    if (lease != 0) request["lease"] = std::to_string(lease);
    const json answer = impl_->call("/v3/kv/put", request);
    return wire::number(answer.value("header", json::object()), "revision");
}

std::int64_t Client::grant_lease(Millis ttl) {
    const auto seconds = std::max<std::int64_t>(1, (ttl.count() + 999) / 1000);
    const json answer = impl_->call("/v3/lease/grant", {{"TTL", std::to_string(seconds)}});
    const std::int64_t id = wire::number(answer, "ID");
    if (id == 0) throw Error("etcd granted no lease: " + answer.value("error", answer.dump()));
    return id;
}

bool Client::keep_alive(std::int64_t lease) {
    // A stream in gRPC; through the gateway, one request gets one answer and the stream ends.
    const json answer = impl_->call("/v3/lease/keepalive", {{"ID", std::to_string(lease)}});
    return wire::number(answer.value("result", json::object()), "TTL") > 0;
}

void Client::revoke_lease(std::int64_t lease) {
    try {
        impl_->call("/v3/lease/revoke", {{"ID", std::to_string(lease)}});
    } catch (const Unavailable&) {
        throw;
    } catch (const Error& e) {
        if (std::string_view(e.what()).find("lease not found") == std::string_view::npos) throw;
    }
}

bool Client::erase(std::string_view key) {
    const json answer = impl_->call(
        "/v3/kv/deleterange", {{"key", wire::base64(impl_->options.prefix + std::string(key))}});
    return wire::number(answer, "deleted") > 0;
}

TxnResult Client::txn(const std::vector<Compare>& compares, const std::vector<Operation>& success,
                      const std::vector<Operation>& failure) {
    json request = {
        {"compare", json::array()}, {"success", json::array()}, {"failure", json::array()}};
    const std::string& prefix = impl_->options.prefix;
    for (const auto& c : compares) request["compare"].push_back(wire::compare(c, prefix));
    for (const auto& op : success) request["success"].push_back(wire::operation(op, prefix));
    for (const auto& op : failure) request["failure"].push_back(wire::operation(op, prefix));
    const json answer = impl_->call("/v3/kv/txn", request);
    return {answer.value("succeeded", false),
            wire::number(answer.value("header", json::object()), "revision")};
}

}  // namespace edgeway::state
