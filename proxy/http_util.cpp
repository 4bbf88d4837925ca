#include "proxy/http_util.hpp"

#include <fmt/format.h>
#include <openssl/rand.h>
#include <boost/beast/http/status.hpp>

#include <array>

namespace edgeway::proxy {

bool is_hop_by_hop(std::string_view name) {
    static constexpr std::array<std::string_view, 10> names{
        "connection", "keep-alive", "proxy-connection",    "transfer-encoding",  "upgrade",
        "te",         "trailer",    "proxy-authorization", "proxy-authenticate", "http2-settings"};
    for (auto n : names)
        if (n == name) return true;
    return false;
}

std::string lowercase(std::string_view text) {
    std::string out(text);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string without_brackets(const std::string& host) {
    return host.size() > 1 && host.front() == '[' ? host.substr(1, host.size() - 2) : host;
}

std::string host_of(std::string_view authority) {
    std::string_view host = authority;
    if (host.empty()) return {};
    if (host.front() == '[') {
        const auto close = host.find(']');
        if (close == std::string_view::npos) return {};
        const std::string_view rest = host.substr(close + 1);
        if (!rest.empty() && (rest.front() != ':' || rest.size() == 1)) return {};
        host = host.substr(0, close + 1);
    } else if (const auto colon = host.find(':'); colon != std::string_view::npos) {
        const std::string_view port = host.substr(colon + 1);
        if (port.empty() || port.size() > 5 ||
            port.find_first_not_of("0123456789") != std::string_view::npos)
            return {};
        host = host.substr(0, colon);
    }
    if (!host.empty() && host.back() == '.') host.remove_suffix(1);
    if (host.empty()) return {};
    for (char c : host)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '[' ||
              c == ']' || c == ':' || c == '_'))
            return {};
    return lowercase(host);
}

std::string new_trace_id() {
    std::array<unsigned char, 8> bytes{};
    RAND_bytes(bytes.data(), static_cast<int>(bytes.size()));
    std::string id;
    for (auto b : bytes) id += fmt::format("{:02x}", b);
    return id;
}

std::string status_line(unsigned status) {
    const auto reason =
        boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(status));
    return fmt::format("HTTP/1.1 {} {}\r\n", status, reason);
}

std::string local_response_body(unsigned status, std::string_view title, std::string_view detail) {
    return fmt::format(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{0} {1}</title></head>"
        "<body><h1>{0} {1}</h1><p>{2}</p><hr><p>Edgeway</p></body></html>\n",
        status, title, detail);
}

std::string local_response(unsigned status, std::string_view title, std::string_view detail,
                           bool close, std::string_view extra_headers) {
    const std::string body = local_response_body(status, title, detail);
    return fmt::format(
        "{}Content-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n"
        "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n{}{}\r\n{}",
        status_line(status), body.size(), close ? "Connection: close\r\n" : "", extra_headers,
        body);
}

Headers local_response_headers(unsigned status, std::size_t body_length) {
    return {{":status", std::to_string(status)},
            {"content-type", "text/html; charset=utf-8"},
            {"content-length", std::to_string(body_length)},
            {"cache-control", "no-store"}};
}

double elapsed_ms(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
}

}  // namespace edgeway::proxy
