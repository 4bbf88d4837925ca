// What went wrong with each member during one request, and the one message that sums it up.
// Private to state/.
#pragma once

#include "state/connection.hpp"

#include <boost/system/error_code.hpp>

#include <string>
#include <utility>
#include <vector>

namespace edgeway::state {

// The words for a failed connection: "connection refused", "no answer within 2000 ms".
std::string describe_failure(const boost::system::error_code& ec, Millis timeout);

// What an error answer of the gateway says ({"error": ..., "code": N, "message": ...}, or for a
// stream {"error": {"grpc_code": N, "message": ...}}), and whether it means that this member
// cannot serve now (gRPC code 14 Unavailable, HTTP 503: no leader, request timed out), so the
// next one should be asked.
struct GatewayError {
    std::string message;
    bool member_unavailable = false;
};
GatewayError gateway_error(const Answer& answer);

class MemberErrors {
  public:
    // index: the member's place in the configuration, so that the summary keeps that order
    // whichever member was asked first.
    // The last cause counts: a member asked again in a later round replaces its entry.
    void add(std::size_t index, const Endpoint& endpoint, std::string cause) {
        for (auto& known : causes_)
            if (known.index == index) return void(known.cause = std::move(cause));
        causes_.push_back({index, endpoint.url, std::move(cause)});
    }
    bool empty() const { return causes_.empty(); }
    // "etcd at A, B: connection refused; C: etcdserver: no leader"
    std::string summary() const;

  private:
    struct Cause {
        std::size_t index;
        std::string url, cause;
    };
    std::vector<Cause> causes_;
};

}  // namespace edgeway::state
