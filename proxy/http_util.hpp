// Small HTTP helpers shared by the edge and the core.
#pragma once

#include "proxy/link_stream.hpp"

#include <chrono>
#include <string>
#include <string_view>

namespace edgeway::proxy {

// Headers that describe one HTTP/1.1 connection and must not be forwarded (RFC 9110 7.6.1),
// plus the ones HTTP/2 forbids.
bool is_hop_by_hop(std::string_view lowercase_name);

// Lowercase copy (header names, host names).
std::string lowercase(std::string_view text);

// The host part of a Host header or :authority, lowercased, without port or trailing dot.
// Returns "" when the value is not a plausible host[:port].
std::string host_of(std::string_view authority);

// An IPv6 literal without its brackets ("[::1]" -> "::1"); anything else as it is.
std::string without_brackets(const std::string& host);

// 16 random hex digits that tie the edge's and the core's log lines of one request together.
std::string new_trace_id();

// "HTTP/1.1 <code> <reason>\r\n".
std::string status_line(unsigned status);

// A complete short response the proxy itself produces (errors, refusals, redirects).
// Adds Content-Type text/html, Content-Length, Cache-Control: no-store, and Connection: close
// when close is set.
std::string local_response(unsigned status, std::string_view title, std::string_view detail,
                           bool close, std::string_view extra_headers = {});
// The same page as HTTP/2 response headers and body, for the core's own answers.
Headers local_response_headers(unsigned status, std::size_t body_length);
std::string local_response_body(unsigned status, std::string_view title, std::string_view detail);

// Milliseconds since start, for the access log.
double elapsed_ms(std::chrono::steady_clock::time_point start);

}  // namespace edgeway::proxy
