// The active health check of the web bridge targets marked down: every
// upstream.health_check_interval_ms, a TLS connection to each (verified as a request's would be)
// and, when upstream.health_check_path is set, a GET of that path that must answer 2xx or 3xx.
// A target that passes is up again and takes new connections at once.
#pragma once

#include "proxy/upstream.hpp"

#include <boost/asio/awaitable.hpp>

namespace edgeway::proxy {

// Runs until its io_context stops. Checks run side by side, one per target at a time.
boost::asio::awaitable<void> check_down_targets(const UpstreamContext& context);

}  // namespace edgeway::proxy
