// What every end-to-end test file uses.
#pragma once

#include "tests/support/appliance.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/curl.hpp"
#include "tests/support/data.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/link_relay.hpp"
#include "tests/support/raw_tls_client.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/wait.hpp"
#include "tests/support/websocket_client.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace edgeway::test {

namespace tls = edgeway::tls;
using Catch::Contains;
using Catch::StartsWith;

// An edge or core access log line for a request path (the path is matched literally, a query
// may follow). Groups: 1 trace, 2 status.
inline std::string access_line(const std::string& path) {
    return R"(access trace=([0-9a-f]+) client=\S+ method=[A-Z]+ host=\S* path=)" +
           regex_escape(path) + R"((?:\?\S*)? status=(\d+) in=\d+ out=\d+ ms=[0-9.]+)";
}

}  // namespace edgeway::test
