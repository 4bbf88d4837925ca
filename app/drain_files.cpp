#include "app/drain_files.hpp"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace edgeway::app {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr const char* kPidFile = "edgeway.pid";
constexpr const char* kRequestFile = "drain-request.json";
constexpr const char* kStatusFile = "drain-status.json";

std::optional<std::string> read_text(const fs::path& file) {
    std::ifstream in(file);
    if (!in) return std::nullopt;
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// Writes text to file whole: a private temporary file renamed over it. Throws on failure.
void write_whole(const fs::path& file, const std::string& text) {
    const fs::path temporary = file.string() + ".tmp";
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error(temporary.string() + ": " + std::strerror(errno));
    const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    const int saved_errno = errno;
    ::close(fd);
    if (!written || ::rename(temporary.c_str(), file.c_str()) != 0) {
        const int error = written ? errno : saved_errno;
        std::error_code ignored;
        fs::remove(temporary, ignored);
        throw std::runtime_error(file.string() + ": " + std::strerror(error));
    }
}

void remove_quietly(const fs::path& file) {
    std::error_code ignored;
    fs::remove(file, ignored);
}

}  // namespace

PidFile::PidFile(fs::path state_directory, Logger& log) : file_(state_directory / kPidFile) {
    remove_quietly(state_directory / kRequestFile);
    remove_quietly(state_directory / kStatusFile);
    try {
        write_whole(file_, std::to_string(::getpid()) + "\n");
        written_ = true;
    } catch (const std::exception& e) {
        log.warn("cannot write the pid file ({}): `edgeway drain` will not find this node",
                 e.what());
    }
}

PidFile::~PidFile() {
    // Another node started on the same state directory meanwhile owns the file now.
    if (written_ && read_text(file_) == std::to_string(::getpid()) + "\n") remove_quietly(file_);
}

bool process_alive(pid_t pid) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) return false;
    // An exited process its parent has not reaped yet: gone for our purposes.
    const auto stat = read_text(fs::path("/proc") / std::to_string(pid) / "stat");
    if (!stat) return true;
    const auto close_paren = stat->rfind(')');
    return close_paren == std::string::npos || close_paren + 2 >= stat->size() ||
           (*stat)[close_paren + 2] != 'Z';
}

std::optional<pid_t> running_node(const fs::path& state_directory) {
    const auto text = read_text(state_directory / kPidFile);
    if (!text) return std::nullopt;
    pid_t pid = 0;
    try {
        pid = static_cast<pid_t>(std::stol(*text));
    } catch (const std::exception&) {
        return std::nullopt;
    }
    if (pid <= 0 || !process_alive(pid)) return std::nullopt;
    // A pid reused by another program since the node died without removing its file.
    if (const auto cmdline = read_text(fs::path("/proc") / std::to_string(pid) / "cmdline")) {
        const std::string program = cmdline->substr(0, cmdline->find('\0'));
        if (fs::path(program).filename() != "edgeway") return std::nullopt;
    }
    return pid;
}

void write_drain_request(const fs::path& state_directory, proxy::Millis deadline) {
    write_whole(state_directory / kRequestFile,
                json{{"deadline_ms", deadline.count()}}.dump() + "\n");
}

std::optional<proxy::Millis> take_drain_request(const fs::path& state_directory) {
    const fs::path file = state_directory / kRequestFile;
    const auto text = read_text(file);
    if (!text) return std::nullopt;
    remove_quietly(file);
    const json request = json::parse(*text, nullptr, false);
    if (!request.is_object() || !request.contains("deadline_ms") ||
        !request["deadline_ms"].is_number_unsigned())
        return std::nullopt;
    return proxy::Millis(request["deadline_ms"].get<std::int64_t>());
}

void write_drain_status(const fs::path& state_directory, const proxy::DrainProgress& progress) {
    const json status = {{"pid", ::getpid()},
                         {"elapsed_ms", progress.elapsed.count()},
                         {"deadline_ms", progress.deadline.count()},
                         {"requests", progress.requests},
                         {"websockets", progress.websockets},
                         {"closing", progress.closing},
                         {"websockets_closed", progress.websockets_closed},
                         {"done", progress.done}};
    try {
        write_whole(state_directory / kStatusFile, status.dump() + "\n");
    } catch (const std::exception&) {
    }
}

std::optional<proxy::DrainProgress> read_drain_status(const fs::path& state_directory, pid_t pid) {
    const auto text = read_text(state_directory / kStatusFile);
    if (!text) return std::nullopt;
    const json status = json::parse(*text, nullptr, false);
    if (!status.is_object()) return std::nullopt;
    try {
        if (status.at("pid").get<pid_t>() != pid) return std::nullopt;
        proxy::DrainProgress progress;
        progress.elapsed = proxy::Millis(status.at("elapsed_ms").get<std::int64_t>());
        progress.deadline = proxy::Millis(status.at("deadline_ms").get<std::int64_t>());
        progress.requests = status.at("requests").get<std::size_t>();
        progress.websockets = status.at("websockets").get<std::size_t>();
        progress.closing = status.at("closing").get<bool>();
        progress.websockets_closed = status.at("websockets_closed").get<std::size_t>();
        progress.done = status.at("done").get<bool>();
        return progress;
    } catch (const json::exception&) {
        return std::nullopt;
    }
}

}  // namespace edgeway::app
