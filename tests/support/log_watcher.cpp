#include "tests/support/log_watcher.hpp"

#include <fstream>
#include <stdexcept>

namespace edgeway::test {

LogWatcher::LogWatcher(std::filesystem::path file) : file_(std::move(file)) {}

void LogWatcher::refresh() {
    std::ifstream in(file_, std::ios::binary);
    if (!in) return;
    in.seekg(0, std::ios::end);
    const auto size = static_cast<std::uintmax_t>(in.tellg());
    if (size < offset_) {  // truncated or replaced: start over
        offset_ = 0;
        lines_.clear();
        partial_.clear();
    }
    if (size == offset_) return;
    in.seekg(static_cast<std::streamoff>(offset_));
    std::string chunk(size - offset_, '\0');
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    chunk.resize(static_cast<std::size_t>(in.gcount()));
    offset_ += chunk.size();
    partial_ += chunk;
    std::size_t start = 0;
    for (;;) {
        auto end = partial_.find('\n', start);
        if (end == std::string::npos) break;
        lines_.push_back(partial_.substr(start, end - start));
        start = end + 1;
    }
    partial_.erase(0, start);
}

const std::vector<std::string>& LogWatcher::lines() {
    refresh();
    return lines_;
}

std::vector<LogMatch> LogWatcher::find_all(const std::string& pattern) {
    refresh();
    const std::regex re(pattern);
    std::vector<LogMatch> matches;
    for (std::size_t i = 0; i < lines_.size(); ++i) {
        std::smatch m;
        if (!std::regex_search(lines_[i], m, re)) continue;
        LogMatch match{lines_[i], {}, i};
        for (const auto& group : m) match.groups.push_back(group.str());
        matches.push_back(std::move(match));
    }
    return matches;
}

std::size_t LogWatcher::count(const std::string& pattern) {
    return find_all(pattern).size();
}

std::optional<LogMatch> LogWatcher::find(const std::string& pattern, std::size_t nth) {
    auto matches = find_all(pattern);
    if (nth == 0 || matches.size() < nth) return std::nullopt;
    return matches[nth - 1];
}

std::optional<LogMatch> LogWatcher::wait_for(const std::string& pattern, Millis timeout,
                                             std::size_t nth) {
    std::optional<LogMatch> found;
    wait_until([&] { return (found = find(pattern, nth)).has_value(); }, timeout);
    return found;
}

LogMatch LogWatcher::require(const std::string& pattern, Millis timeout, std::size_t nth) {
    if (auto found = wait_for(pattern, timeout, nth)) return *found;
    throw std::runtime_error("no line #" + std::to_string(nth) + " matching /" + pattern +
                             "/ within " + std::to_string(timeout.count()) + " ms in " +
                             file_.string() + "; last lines:\n" + tail());
}

std::string LogWatcher::tail(std::size_t max_lines) {
    refresh();
    std::string text;
    const std::size_t first = lines_.size() > max_lines ? lines_.size() - max_lines : 0;
    for (std::size_t i = first; i < lines_.size(); ++i) text += "  | " + lines_[i] + "\n";
    if (!partial_.empty()) text += "  | " + partial_ + "\n";
    return text;
}

std::string regex_escape(const std::string& text) {
    static const std::string special = R"(\^$.|?*+()[]{})";
    std::string out;
    for (char c : text) {
        if (special.find(c) != std::string::npos) out += '\\';
        out += c;
    }
    return out;
}

}  // namespace edgeway::test
