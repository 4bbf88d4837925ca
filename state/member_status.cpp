// Every member's own status, asked of all at once: one coroutine per member on a private
// io_context, each on a connection of its own, so that one silent member costs one timeout,
// not one per member.
#include "state/state.hpp"

#include "state/connection.hpp"
#include "state/member_errors.hpp"
#include "state/wire.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/system/system_error.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace edgeway::state {

namespace asio = boost::asio;
using wire::json;

namespace {

// Member and leader ids are unsigned 64-bit numbers, sent as strings: compared as text.
std::string id_text(const json& object, const char* field) {
    const auto it = object.find(field);
    if (it == object.end()) return "";
    return it->is_string() ? it->get<std::string>() : it->dump();
}

void read_status(const Answer& answer, MemberStatus& status) {
    if (answer.status != 200) {
        status.error = gateway_error(answer).message;
        return;
    }
    const json body = json::parse(answer.body, nullptr, false);
    if (!body.is_object()) {
        status.error = "its status is not JSON";
        return;
    }
    const json header = body.value("header", json::object());
    status.revision = wire::number(header, "revision");
    status.version = body.value("version", "");
    const std::string leader = id_text(body, "leader");
    status.leader = !leader.empty() && leader != "0" && leader == id_text(header, "member_id");
    std::vector<std::string> alarms;
    if (const auto it = body.find("errors"); it != body.end() && it->is_array())
        for (const auto& e : *it)
            if (e.is_string()) alarms.push_back(e.get<std::string>());
    if (leader.empty() || leader == "0")
        status.error = "no leader";
    else if (!alarms.empty())
        status.error = fmt::format("{}", fmt::join(alarms, "; "));
    status.healthy = status.error.empty();
}

asio::awaitable<void> ask(Endpoint endpoint, asio::ssl::context* tls, Millis timeout,
                          MemberStatus& status) {
    Connection connection(co_await asio::this_coro::executor, endpoint, tls);
    try {
        co_await connection.open(timeout);
        read_status(co_await connection.post("/v3/maintenance/status", "{}", timeout), status);
    } catch (const boost::system::system_error& e) {
        status.error = describe_failure(e.code(), timeout);
    } catch (const Error& e) {
        status.error = e.what();  // an answer that makes no sense
    }
}

}  // namespace

std::vector<MemberStatus> member_status(const EtcdOptions& options) {
    const auto tls = make_tls_context(options);
    std::vector<MemberStatus> result(options.endpoints.size());
    asio::io_context io{1};
    for (std::size_t i = 0; i < options.endpoints.size(); ++i) {
        result[i].url = options.endpoints[i];
        asio::co_spawn(
            io, ask(parse_endpoint(options.endpoints[i]), tls.get(), options.timeout, result[i]),
            asio::detached);
    }
    io.run();
    return result;
}

}  // namespace edgeway::state
