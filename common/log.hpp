// Logging: one line per event on stderr, prefixed with an ISO-8601 UTC time and a level. Under
// systemd, when stderr is the journal, the line carries a syslog priority prefix ("<4>")
// instead of the time, which the journal records itself. A Logger is passed to whoever logs;
// there is no global logger.
#pragma once

#include <fmt/format.h>

#include <atomic>
#include <mutex>
#include <string>
#include <string_view>

namespace edgeway {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

// Parses "debug" | "info" | "warn" | "error"; false when the text is none of them.
bool parse_log_level(std::string_view text, LogLevel& level);

class Logger {
  public:
    // component is printed before each message ("edge", "core", "webbridge-demo").
    explicit Logger(std::string component, LogLevel level = LogLevel::info);

    template <typename... Args>
    void debug(fmt::format_string<Args...> f, Args&&... args) {
        if (enabled(LogLevel::debug))
            write(LogLevel::debug, fmt::format(f, std::forward<Args>(args)...));
    }
    template <typename... Args>
    void info(fmt::format_string<Args...> f, Args&&... args) {
        if (enabled(LogLevel::info))
            write(LogLevel::info, fmt::format(f, std::forward<Args>(args)...));
    }
    template <typename... Args>
    void warn(fmt::format_string<Args...> f, Args&&... args) {
        if (enabled(LogLevel::warn))
            write(LogLevel::warn, fmt::format(f, std::forward<Args>(args)...));
    }
    template <typename... Args>
    void error(fmt::format_string<Args...> f, Args&&... args) {
        write(LogLevel::error, fmt::format(f, std::forward<Args>(args)...));
    }

    bool enabled(LogLevel level) const { return level >= level_.load(std::memory_order_relaxed); }
    // A new threshold from now on (a configuration reload); safe from any thread.
    void set_level(LogLevel level) { level_.store(level, std::memory_order_relaxed); }
    const std::string& component() const { return component_; }

    // Writes "2026-11-25T10:41:03.123Z INFO  <component>: <message>\n" in one write.
    void write(LogLevel level, std::string_view message);

  private:
    std::string component_;
    std::atomic<LogLevel> level_;
    bool journal_;      // stderr is the systemd journal
    std::mutex mutex_;  // one line at a time when several worker threads log
};

}  // namespace edgeway
