// /metrics in the Prometheus text exposition format (version 0.0.4): request counters by
// status, refusals by reason, body bytes, per-link state, streams and bytes, relay allocations.
#pragma once

#include "admin/admin.hpp"

#include <string>
#include <string_view>

namespace edgeway::admin {

constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// The whole exposition for what the hooks report now; families whose hook is empty are left
// out.
std::string render_metrics(const Hooks& hooks);

// A label value as the format wants it: backslash, double quote and newline escaped.
std::string escape_label_value(std::string_view value);

}  // namespace edgeway::admin
