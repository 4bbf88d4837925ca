#include "state/wire.hpp"

#include <openssl/evp.h>

#include <charconv>

namespace edgeway::state::wire {

std::string base64(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(bytes.data()),
                                  static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::string unbase64(std::string_view text) {
    if (text.size() % 4 != 0) throw Error("etcd sent invalid base64");
    std::string out(3 * (text.size() / 4) + 1, '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(text.data()),
                                  static_cast<int>(text.size()));
    if (n < 0) throw Error("etcd sent invalid base64");
    // EVP_DecodeBlock counts the padding as zero bytes.
    std::size_t size = static_cast<std::size_t>(n);
    for (std::size_t i = text.size(); i > 0 && text[i - 1] == '='; --i) --size;
    out.resize(size);
    return out;
}

std::int64_t number(const json& object, const char* field) {
    const auto it = object.find(field);
    if (it == object.end() || it->is_null()) return 0;
    if (it->is_number_integer()) return it->get<std::int64_t>();
    if (!it->is_string()) throw Error(std::string("etcd sent a non-numeric ") + field);
    const auto& text = it->get_ref<const std::string&>();
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size())
        throw Error(std::string("etcd sent a non-numeric ") + field);
    return value;
}

KeyValue key_value(const json& kv, std::string_view prefix) {
    if (!kv.is_object()) throw Error("etcd sent a key value that is not an object");
    KeyValue out;
    std::string key = unbase64(kv.value("key", ""));
    if (key.starts_with(prefix)) key.erase(0, prefix.size());
    out.key = std::move(key);
    out.value = unbase64(kv.value("value", ""));
    out.create_revision = number(kv, "create_revision");
    out.mod_revision = number(kv, "mod_revision");
    out.version = number(kv, "version");
    return out;
}

json range_request(const std::string& key, const std::string* range_end,
                   const RangeOptions& options) {
    json request = {{"key", base64(key)}};
    if (range_end) request["range_end"] = base64(*range_end);
    if (options.limit > 0) request["limit"] = options.limit;
    if (options.newest_first) {
        request["sort_order"] = "DESCEND";
        request["sort_target"] = "CREATE";
    }
    return request;
}

json compare(const Compare& c, std::string_view prefix) {
    static constexpr const char* kTargets[] = {"VERSION", "CREATE", "MOD", "VALUE"};
    static constexpr const char* kFields[] = {"version", "create_revision", "mod_revision",
                                              "value"};
    static constexpr const char* kResults[] = {"EQUAL", "NOT_EQUAL", "GREATER", "LESS"};
    const std::string key = std::string(prefix) + c.key;
    const auto target = static_cast<std::size_t>(c.target);
    json out = {{"key", base64(key)},
                {"target", kTargets[target]},
                {"result", kResults[static_cast<std::size_t>(c.result)]}};
    if (c.prefix) out["range_end"] = base64(prefix_end(key));
    if (c.target == Compare::Target::value)
        out["value"] = base64(c.value);
    else
        out[kFields[target]] = std::to_string(c.number);
    return out;
}

json operation(const Operation& op, std::string_view prefix) {
    const std::string key = std::string(prefix) + op.key;
    switch (op.kind) {
        case Operation::Kind::put:
            return {{"request_put", {{"key", base64(key)}, {"value", base64(op.value)}}}};
        case Operation::Kind::erase:
            return {{"request_delete_range", {{"key", base64(key)}}}};
        case Operation::Kind::erase_prefix:
            break;
    }
    return {
        {"request_delete_range", {{"key", base64(key)}, {"range_end", base64(prefix_end(key))}}}};
}

}  // namespace edgeway::state::wire
