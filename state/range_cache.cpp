#include "state/state.hpp"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace edgeway::state {
namespace {

using json = nlohmann::json;

constexpr int kFormat = 1;

}  // namespace

void RangeCache::save(const Range& range) {
    if (file_.empty()) return;
    json kvs = json::array();
    for (const auto& kv : range.kvs)
        kvs.push_back({{"key", kv.key},
                       {"value", kv.value},
                       {"create_revision", kv.create_revision},
                       {"mod_revision", kv.mod_revision},
                       {"version", kv.version}});
    std::string content;
    try {
        content = kvs.dump();
    } catch (const json::exception&) {
        return;  // a value that is not UTF-8: not ours, not worth a copy
    }
    // The range's revision is the whole store's: every write elsewhere in etcd (the cores'
    // member records, about once a second) moves it. Only another content is worth a write.
    if (content == saved_content_) return;
    const std::string text =
        json{{"format", kFormat}, {"revision", range.revision}, {"kvs", std::move(kvs)}}.dump();
    // Readable by the node's user only, like its databases: accounts hold password hashes.
    const auto temporary = file_.string() + ".tmp";
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return;
    bool written = true;
    for (std::size_t done = 0; done < text.size() && written;) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        written = n > 0;
        if (written) done += static_cast<std::size_t>(n);
    }
    written = written && ::fsync(fd) == 0;
    ::close(fd);
    std::error_code ec;
    if (written) std::filesystem::rename(temporary, file_, ec);
    if (!written || ec) {
        std::filesystem::remove(temporary, ec);
        return;
    }
    saved_content_ = std::move(content);
}

std::optional<Range> RangeCache::load() const {
    if (file_.empty()) return std::nullopt;
    std::ifstream in(file_);
    if (!in) return std::nullopt;
    std::stringstream text;
    text << in.rdbuf();
    const json doc = json::parse(text.str(), nullptr, false);
    if (!doc.is_object() || doc.value("format", 0) != kFormat) return std::nullopt;
    try {
        Range range;
        range.revision = doc.at("revision").get<std::int64_t>();
        for (const auto& item : doc.at("kvs"))
            range.kvs.push_back({item.at("key").get<std::string>(),
                                 item.at("value").get<std::string>(),
                                 item.at("create_revision").get<std::int64_t>(),
                                 item.at("mod_revision").get<std::int64_t>(),
                                 item.at("version").get<std::int64_t>()});
        return range;
    } catch (const json::exception&) {
        return std::nullopt;
    }
}

}  // namespace edgeway::state
