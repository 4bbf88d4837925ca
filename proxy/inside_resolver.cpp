#include "proxy/inside_resolver.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace edgeway::proxy {

namespace asio = boost::asio;

namespace {

// "host:port" / "[v6]:port" / "host" / "[v6]" into host (brackets removed) and port ("" if none).
void split_address(const std::string& address, std::string& host, std::string& port) {
    const auto bracket = address.find(']');
    const auto colon = address.rfind(':');
    const bool has_port =
        colon != std::string::npos &&
        (bracket == std::string::npos ? address.find(':') == colon : colon > bracket);
    host = has_port ? address.substr(0, colon) : address;
    port = has_port ? address.substr(colon + 1) : std::string();
    if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
}

}  // namespace

HostTable parse_hosts_file(const std::string& text, const std::string& file_name) {
    HostTable table;
    std::istringstream lines(text);
    std::string line;
    for (int number = 1; std::getline(lines, line); ++number) {
        line = line.substr(0, line.find('#'));
        std::istringstream words(line);
        std::string address, name;
        if (!(words >> address)) continue;
        boost::system::error_code ec;
        std::string host, port;
        split_address(address, host, port);
        asio::ip::make_address(host, ec);
        const bool port_ok =
            port.empty() ||
            (port.size() <= 5 && port.find_first_not_of("0123456789") == std::string::npos &&
             std::stoul(port) >= 1 && std::stoul(port) <= 65535);
        if (ec || !port_ok)
            throw std::runtime_error(
                fmt::format("{} line {}: '{}' is not an IP address with an optional port",
                            file_name, number, address));
        bool any = false;
        while (words >> name) {
            try {
                table[allowlist::normalize_rule_host(name)].push_back(address);
            } catch (const allowlist::RuleError& e) {
                throw std::runtime_error(
                    fmt::format("{} line {}: {}", file_name, number, e.what()));
            }
            any = true;
        }
        if (!any)
            throw std::runtime_error(
                fmt::format("{} line {}: an address without a host name", file_name, number));
    }
    return table;
}

namespace {

bool has_lab_table(const CoreConfig& config) {
    return !config.hosts_file.empty() || !config.resolve.empty();
}

}  // namespace

InsideResolver::InsideResolver(const LiveConfig<CoreConfig>& config)
    : config_(config), lab_(has_lab_table(*config.get())) {
    auto table = std::make_shared<HostTable>();
    for (const auto& [name, addresses] : config.get()->resolve) (*table)[name] = addresses;
    table_.store(std::move(table));
}

void InsideResolver::reload_table() {
    const auto config = config_.get();
    auto table = std::make_shared<HostTable>();
    for (const auto& [name, addresses] : config->resolve) (*table)[name] = addresses;
    if (!config->hosts_file.empty()) {
        std::ifstream in(config->hosts_file);
        if (!in)
            throw std::runtime_error("cannot read the hosts file " + config->hosts_file.string());
        std::stringstream text;
        text << in.rdbuf();
        for (auto& [name, addresses] : parse_hosts_file(text.str(), config->hosts_file.string()))
            for (auto& address : addresses) (*table)[name].push_back(std::move(address));
    }
    table_.store(std::move(table));
}

asio::awaitable<allowlist::Resolution> InsideResolver::resolve(const allowlist::JoinUri& uri) {
    allowlist::Resolution result;
    result.uri = uri;
    lab_ = has_lab_table(*config_.get());
    if (lab_) {
        try {
            reload_table();
        } catch (const std::exception& e) {
            result.error = e.what();
            co_return result;
        }
        const auto table = table_.load();
        if (auto it = table->find(uri.host); it != table->end())
            for (const auto& address : it->second) result.targets.push_back({uri.host, address});
        co_return result;
    }
    asio::ip::tcp::resolver resolver(co_await asio::this_coro::executor);
    auto [ec, endpoints] = co_await resolver.async_resolve(uri.host, std::to_string(uri.port),
                                                           asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::host_not_found || ec == asio::error::no_data) co_return result;
    if (ec) {
        result.error = "DNS failure: " + ec.message();
        co_return result;
    }
    for (const auto& entry : endpoints) {
        const std::string address = entry.endpoint().address().to_string();
        const allowlist::ResolvedTarget target{entry.host_name(), address};
        if (std::find(result.targets.begin(), result.targets.end(), target) == result.targets.end())
            result.targets.push_back(target);
    }
    co_return result;
}

void InsideResolver::discovered(const std::vector<allowlist::Resolution>& resolutions) {
    if (lab_) return;  // the lab table answers
    auto table = std::make_shared<HostTable>();
    for (const auto& resolution : resolutions)
        for (const auto& target : resolution.targets)
            (*table)[resolution.uri.host].push_back(target.address);
    table_.store(std::move(table));
}

std::vector<std::string> InsideResolver::targets(const std::string& host,
                                                 std::uint16_t port) const {
    std::vector<std::string> addresses;
    const auto table = table_.load();
    if (auto it = table->find(host); it != table->end())
        for (const auto& address : it->second)
            addresses.push_back(allowlist::target_endpoint({host, address}, port));
    return addresses;
}

}  // namespace edgeway::proxy
