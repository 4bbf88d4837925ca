// How a core introduces itself to the cluster status: its name, version and admin URL.
#pragma once

#include "cluster/cluster.hpp"
#include "proxy/proxy.hpp"

#include <cstdint>

namespace edgeway::app {

// The configuration's node_name, else "HOSTNAME:ADMIN_PORT" (HOSTNAME alone without an admin
// listener); the admin URL on the listen address, or on the host name when that is a wildcard.
cluster::Membership::Identity core_identity(const proxy::CoreConfig& config,
                                            std::uint16_t admin_port);

}  // namespace edgeway::app
