// What the node reports about its traffic, read through Hooks: the traversal links
// (/api/v1/status/links), the cluster (/api/v1/status/cluster: store, cores, link matrix), the TURN
// relay's allocations (/api/v1/status/relay) and the recent requests (/api/v1/logs). A hook the
// binary left empty means the node has no such thing: 404.
#pragma once

#include "admin/admin.hpp"
#include "admin/http_types.hpp"
#include "allowlist/allowlist.hpp"

#include <optional>
#include <string_view>

namespace edgeway::admin {

class StatusApi {
  public:
    explicit StatusApi(const Hooks& hooks) : hooks_(hooks) {}

    // path is what follows /api/v1/; nothing when it is not one of this API's.
    std::optional<Response> handle(const Request& request, std::string_view path,
                                   std::string_view query);

  private:
    Response links();
    Response cluster();
    Response relay();
    Response logs(std::string_view query);

    const Hooks& hooks_;
};

// The JSON forms the API and the tests share.
json link_to_json(const telemetry::LinkStatus& link);
json allocation_to_json(const telemetry::RelayAllocation& allocation);
json request_to_json(const telemetry::RequestRecord& record);
// The health of one target a join URL resolved to, from the core's web bridge targets: "state"
// (Up, Down, or Unchecked before its first request), "since", "reason" (why it is down),
// "requests" (answered).
json target_health_to_json(const std::vector<telemetry::UpstreamTarget>& health,
                           const std::string& uri, const allowlist::ResolvedTarget& target);

// 405 with an Allow header.
Response method_not_allowed(std::string_view allow);

}  // namespace edgeway::admin
