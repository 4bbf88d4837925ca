#include "app/drain_command.hpp"

#include "app/drain_files.hpp"
#include "common/cli_exit.hpp"

#include <fmt/format.h>

#include <signal.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <thread>

namespace edgeway::app {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kUsage = R"(usage: edgeway drain --config FILE [--deadline SECONDS]

Drains the edge or core running with FILE, found through the pid file in its state directory:
it takes no new work (a core's edges send new requests to the other cores; an edge stops
accepting connections), lets the requests and WebSockets in flight go on for up to the
deadline (drain.deadline_ms in FILE, default 30 s; --deadline gives another, 0 to 3600,
fractions allowed), then closes the WebSockets still open with close code 1012 (service
restart), so that browsers reconnect at once, and exits. What is still in flight is printed
as it goes, until the node has exited. SIGTERM (systemctl stop, systemctl restart) drains the
same way, with the deadline of FILE. A node run by systemd stays stopped after `edgeway drain`.

Exit code 0 once the node has drained and exited, 1 when no node runs with FILE or it did not
exit in time, 2 on a usage or configuration error.
)";

// How often the node's progress is read, and how long past the deadline the node may take to
// exit (closing WebSockets and links, stopping its listeners) before we give up waiting.
constexpr std::chrono::milliseconds kPoll{100};
constexpr std::chrono::seconds kExitGrace{15};
constexpr double kMaxDeadlineSeconds = 3600;

std::string plural(std::size_t n, const char* what) {
    return fmt::format("{} {}{}", n, what, n == 1 ? "" : "s");
}

std::string seconds(proxy::Millis ms) {
    return fmt::format("{:.1f} s", static_cast<double>(ms.count()) / 1000);
}

// "0".."3600" seconds, with a fraction allowed.
std::optional<proxy::Millis> parse_deadline(const std::string& text) {
    double value = -1;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < 0 ||
        value > kMaxDeadlineSeconds)
        return std::nullopt;
    return proxy::Millis(static_cast<std::int64_t>(value * 1000 + 0.5));
}

// The lines for what the node reported since `before`; none when it says nothing new.
std::string describe(const proxy::DrainProgress& now, const proxy::DrainProgress* before) {
    std::string lines;
    // The closing after the deadline is short: it may be seen only once done.
    if (now.closing && !(before && before->closing))
        lines +=
            fmt::format("  deadline reached after {}: closing {} with 1012 (service restart)\n",
                        seconds(now.done ? now.deadline : now.elapsed),
                        plural(now.websockets_closed, "WebSocket"));
    if (now.done) {
        lines += fmt::format("drained in {} ms", now.elapsed.count());
        if (now.requests > 0)
            lines += fmt::format(" ({} still in flight at the deadline, cut off)",
                                 plural(now.requests, "request"));
        return lines + "\n";
    }
    const bool changed = !before || before->requests != now.requests ||
                         before->websockets != now.websockets ||
                         now.elapsed - before->elapsed >= std::chrono::seconds(1);
    if (changed && !now.closing)
        lines += fmt::format("  {}, {} in flight ({} of {})\n", plural(now.requests, "request"),
                             plural(now.websockets, "WebSocket"), seconds(now.elapsed),
                             seconds(now.deadline));
    return lines;
}

}  // namespace

int run_drain_command(const std::vector<std::string>& args, const DrainTargetOf& target_of,
                      std::ostream& out, std::ostream& err) {
    std::optional<fs::path> config_file;
    std::optional<proxy::Millis> deadline;
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--help" || args[i] == "-h") return out << kUsage, kExitOk;
        const bool known = args[i] == "--config" || args[i] == "--deadline";
        if (!known || i + 1 >= args.size()) {
            err << "edgeway drain: "
                << (known ? args[i] + " needs a value" : "unknown option " + args[i]) << "\n"
                << kUsage;
            return kExitUsage;
        }
        const std::string& value = args[++i];
        if (args[i - 1] == "--config") {
            config_file = value;
        } else if (!(deadline = parse_deadline(value))) {
            err << "edgeway drain: --deadline: expected seconds from 0 to 3600, got '" << value
                << "'\n";
            return kExitUsage;
        }
    }
    if (!config_file) {
        err << "edgeway drain: --config FILE is required\n" << kUsage;
        return kExitUsage;
    }
    DrainTarget target;
    try {
        target = target_of(*config_file);
    } catch (const proxy::ConfigError& e) {
        err << "edgeway drain: " << e.what() << "\n";
        return kExitUsage;
    }

    const auto pid = running_node(target.state_directory);
    if (!pid) {
        err << "edgeway drain: no " << target.role << " runs with " << config_file->string()
            << " (no running process in " << (target.state_directory / "edgeway.pid").string()
            << ")\n";
        return kExitFailed;
    }
    if (deadline) {
        try {
            write_drain_request(target.state_directory, *deadline);
        } catch (const std::exception& e) {
            err << "edgeway drain: cannot pass the deadline on: " << e.what() << "\n";
            return kExitFailed;
        }
    }
    const proxy::Millis wait_for = deadline.value_or(target.deadline);
    if (::kill(*pid, SIGTERM) != 0) {
        err << "edgeway drain: cannot signal the " << target.role << " (pid " << *pid
            << "): " << std::strerror(errno) << "\n";
        return kExitFailed;
    }
    out << "draining the " << target.role << " (pid " << *pid << "), deadline " << seconds(wait_for)
        << "\n"
        << std::flush;

    const auto give_up = Clock::now() + wait_for + kExitGrace;
    std::optional<proxy::DrainProgress> last;
    while (process_alive(*pid)) {
        if (Clock::now() >= give_up) {
            err << "edgeway drain: the " << target.role << " (pid " << *pid << ") is still running "
                << seconds(wait_for + kExitGrace) << " after the signal\n";
            return kExitFailed;
        }
        if (const auto progress = read_drain_status(target.state_directory, *pid)) {
            const std::string lines = describe(*progress, last ? &*last : nullptr);
            if (!lines.empty()) {
                out << lines << std::flush;
                last = progress;
            }
        }
        std::this_thread::sleep_for(kPoll);
    }
    // The end may have come between two looks.
    if (const auto progress = read_drain_status(target.state_directory, *pid);
        progress && progress->done && !(last && last->done))
        out << describe(*progress, last ? &*last : nullptr);
    out << "the " << target.role << " (pid " << *pid << ") has exited\n";
    return kExitOk;
}

}  // namespace edgeway::app
