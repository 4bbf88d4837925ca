#include "app/cluster_member.hpp"

#include <fmt/format.h>

#include <unistd.h>

#include <climits>

namespace edgeway::app {

namespace {

std::string host_name() {
    char name[HOST_NAME_MAX + 1] = {};
    if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "core";
    return name;
}

}  // namespace

cluster::Membership::Identity core_identity(const proxy::CoreConfig& config,
                                            std::uint16_t admin_port) {
    cluster::Membership::Identity identity;
    identity.version = EDGEWAY_VERSION;
    identity.started = cluster::Clock::now();
    const std::string host = host_name();
    if (config.admin) {
        std::string listen_host = config.admin->listen.substr(0, config.admin->listen.rfind(':'));
        if (listen_host.empty() || listen_host == "0.0.0.0" || listen_host == "[::]")
            listen_host = host;
        identity.admin_url = fmt::format("https://{}:{}/", listen_host, admin_port);
    }
    identity.name = !config.node_name.empty() ? config.node_name
                    : config.admin            ? fmt::format("{}:{}", host, admin_port)
                                              : host;
    return identity;
}

}  // namespace edgeway::app
