// The query string of an API request (?refused=1&q=text): split into decoded name/value pairs,
// with the few value parsers the API needs. A malformed query is the caller's 422, naming the
// parameter.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace edgeway::admin {

using QueryParameters = std::vector<std::pair<std::string, std::string>>;

// Percent-decodes (and turns '+' into a space in) each name and value. Nothing when an escape is
// invalid or decodes to a control character.
std::optional<QueryParameters> parse_query(std::string_view query);

// A decimal integer in [min, max], nothing otherwise.
std::optional<std::int64_t> parse_integer(std::string_view text, std::int64_t min,
                                          std::int64_t max);
// "1"/"true"/"yes" or "0"/"false"/"no"/""; nothing otherwise.
std::optional<bool> parse_flag(std::string_view text);

}  // namespace edgeway::admin
