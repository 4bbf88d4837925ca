// Sends arbitrary bytes over TLS and records what comes back until the server closes, a complete
// HTTP response arrived (optional), or a timeout. Writing and reading run concurrently, so an
// early answer (413 while the body is still being sent) is seen even if the server then resets.
#pragma once

#include "tests/support/tls_client.hpp"

#include <cstdint>
#include <functional>
#include <string>

namespace edgeway::test {

struct RawResult {
    bool handshake_ok = false;
    std::string handshake_error;
    std::uint16_t local_port = 0;  // our side of the connection, as the server logs it
    std::string received;
    bool closed = false;  // the server closed or reset the connection
    bool timed_out = false;
    bool response_complete = false;  // received holds a whole HTTP response
    std::string read_error;          // how reading ended ("" when it stopped at a response)
    std::string write_error;
    std::uint64_t bytes_written = 0;
    double ms_until_end = 0;  // from the end of the handshake until reading stopped

    // The status code of the HTTP response in received, 0 when there is none.
    unsigned status() const;
};

struct RawExchange {
    std::string first;                  // written right after the handshake
    std::function<std::string()> more;  // then its results until it returns ""
    Millis pace = 0ms;                  // pause before each piece from `more` (a slow client)
    Millis timeout = 5000ms;            // for the whole exchange
    bool stop_at_response = true;       // stop reading once a complete response arrived
};

RawResult raw_tls_exchange(const TlsTarget& target, RawExchange exchange);

}  // namespace edgeway::test
