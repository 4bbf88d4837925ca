#include "common/log.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace edgeway {

bool parse_log_level(std::string_view text, LogLevel& level) {
    if (text == "debug")
        level = LogLevel::debug;
    else if (text == "info")
        level = LogLevel::info;
    else if (text == "warn")
        level = LogLevel::warn;
    else if (text == "error")
        level = LogLevel::error;
    else
        return false;
    return true;
}

namespace {

// systemd sets JOURNAL_STREAM to "device:inode" of the journal stream it connected stderr to;
// a process whose stderr was redirected since (a child, a pipe) sees a different file.
bool stderr_is_journal() {
    const char* stream = std::getenv("JOURNAL_STREAM");
    struct stat st {};
    if (!stream || ::fstat(STDERR_FILENO, &st) != 0) return false;
    return fmt::format("{}:{}", st.st_dev, st.st_ino) == stream;
}

}  // namespace

Logger::Logger(std::string component, LogLevel level)
    : component_(std::move(component)), level_(level), journal_(stderr_is_journal()) {}

void Logger::write(LogLevel level, std::string_view message) {
    using namespace std::chrono;
    const auto now = system_clock::now();
    const auto millis = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    const std::time_t seconds = system_clock::to_time_t(now);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    static constexpr const char* names[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};
    // syslog priorities: debug 7, info 6, warning 4, err 3.
    static constexpr int priorities[] = {7, 6, 4, 3};
    const std::string line =
        journal_
            ? fmt::format("<{}>{}: {}\n", priorities[static_cast<int>(level)], component_, message)
            : fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z {} {}: {}\n",
                          utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                          utc.tm_sec, millis, names[static_cast<int>(level)], component_, message);
    std::lock_guard lock(mutex_);
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
}

}  // namespace edgeway
