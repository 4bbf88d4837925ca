// The JSON gateway's vocabulary: base64 keys and values, 64-bit numbers sent as strings, key
// values and answers. Private to state/.
#pragma once

#include "state/state.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace edgeway::state::wire {

using json = nlohmann::json;

std::string base64(std::string_view bytes);
std::string unbase64(std::string_view text);  // throws Error on invalid input

// A 64-bit field that the gateway writes as a string ("12"), a number, or leaves out (0).
std::int64_t number(const json& object, const char* field);

// A key value from the gateway, with the prefix taken off its key.
KeyValue key_value(const json& kv, std::string_view prefix);

json range_request(const std::string& key, const std::string* range_end,
                   const RangeOptions& options);
json compare(const Compare& compare, std::string_view prefix);
json operation(const Operation& operation, std::string_view prefix);

}  // namespace edgeway::state::wire
