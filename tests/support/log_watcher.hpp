// Watches a log file another process appends to: finds complete lines matching an ECMAScript
// regular expression (std::regex_search on each line), now or by polling until a deadline.
#pragma once

#include "tests/support/wait.hpp"

#include <cstddef>
#include <filesystem>
#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace edgeway::test {

struct LogMatch {
    std::string line;
    std::vector<std::string> groups;  // [0] the whole match, then the capture groups
    std::size_t line_index = 0;       // which line of the file (0-based)
    const std::string& operator[](std::size_t i) const { return groups.at(i); }
};

class LogWatcher {
  public:
    explicit LogWatcher(std::filesystem::path file);

    const std::filesystem::path& path() const { return file_; }
    // Complete lines so far (a line still being written is left out).
    const std::vector<std::string>& lines();
    std::size_t count(const std::string& pattern);
    // The nth (1-based) matching line, if there are that many yet.
    std::optional<LogMatch> find(const std::string& pattern, std::size_t nth = 1);
    std::vector<LogMatch> find_all(const std::string& pattern);
    // Polls until the nth matching line appears.
    std::optional<LogMatch> wait_for(const std::string& pattern, Millis timeout,
                                     std::size_t nth = 1);
    // Like wait_for, but throws std::runtime_error with the pattern and the log's tail.
    LogMatch require(const std::string& pattern, Millis timeout, std::size_t nth = 1);
    // The last lines of the file, for failure messages.
    std::string tail(std::size_t max_lines = 40);

  private:
    void refresh();

    std::filesystem::path file_;
    std::vector<std::string> lines_;
    std::string partial_;
    std::uintmax_t offset_ = 0;
};

// Escapes text so it matches literally inside a regular expression.
std::string regex_escape(const std::string& text);

}  // namespace edgeway::test
