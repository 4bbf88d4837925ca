// The JSON of GET /api/v1/status/cluster: the store's health, every core's record, every edge
// any core links to, and the link matrix (one cell per core and edge). Private to admin/.
#pragma once

#include "admin/http_types.hpp"
#include "cluster/cluster.hpp"

namespace edgeway::admin {

json cluster_to_json(const cluster::View& view);

}  // namespace edgeway::admin
