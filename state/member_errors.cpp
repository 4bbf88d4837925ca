#include "state/member_errors.hpp"

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <nlohmann/json.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>

namespace edgeway::state {

std::string describe_failure(const boost::system::error_code& ec, Millis timeout) {
    if (ec == boost::beast::error::timeout)
        return fmt::format("no answer within {} ms", timeout.count());
    std::string text = ec.message();
    if (!text.empty())
        text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
    return text;
}

GatewayError gateway_error(const Answer& answer) {
    GatewayError error;
    const auto body = nlohmann::json::parse(answer.body, nullptr, false);
    std::int64_t code = 0;
    if (body.is_object() && body.contains("error")) {
        const auto& inner = body["error"];
        if (inner.is_object()) {
            error.message = inner.value("message", "");
            code = inner.value("grpc_code", 0);
        } else {
            error.message =
                body.value("message", inner.is_string() ? inner.get<std::string>() : "");
            code = body.value("code", 0);
        }
    }
    if (error.message.empty()) error.message = fmt::format("HTTP status {}", answer.status);
    constexpr std::int64_t kGrpcUnavailable = 14;
    error.member_unavailable = code == kGrpcUnavailable || answer.status == 503;
    return error;
}

std::string MemberErrors::summary() const {
    // Members that failed the same way are named together, in the configured order.
    auto causes = causes_;
    std::stable_sort(causes.begin(), causes.end(),
                     [](const Cause& a, const Cause& b) { return a.index < b.index; });
    std::vector<std::pair<std::string, std::vector<std::string>>> groups;
    for (const auto& [index, url, cause] : causes) {
        auto it = std::find_if(groups.begin(), groups.end(),
                               [&](const auto& group) { return group.first == cause; });
        if (it == groups.end())
            it = groups.emplace(groups.end(), cause, std::vector<std::string>{});
        it->second.push_back(url);
    }
    std::string text = "etcd at ";
    for (std::size_t i = 0; i < groups.size(); ++i) {
        if (i > 0) text += "; ";
        text += fmt::format("{}: {}", fmt::join(groups[i].second, ", "), groups[i].first);
    }
    return text;
}

}  // namespace edgeway::state
