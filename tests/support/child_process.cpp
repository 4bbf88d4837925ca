#include "tests/support/child_process.hpp"

#include "tests/support/temp_dir.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#ifndef EDGEWAY_BINARY
#error "EDGEWAY_BINARY must be defined to the path of the edgeway binary"
#endif

namespace edgeway::test {

std::filesystem::path edgeway_binary() {
    if (const char* env = std::getenv("EDGEWAY_BINARY"); env != nullptr && *env != '\0') {
        return env;
    }
    return EDGEWAY_BINARY;
}

ChildProcess::ChildProcess(std::string name, std::filesystem::path program,
                           std::vector<std::string> args, std::filesystem::path log_file,
                           std::filesystem::path cwd)
    : name_(std::move(name)),
      log_file_(std::move(log_file)),
      watcher_(log_file_),
      diagnostic_(name_, log_file_) {
    // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
    std::vector<std::string> argv_storage;
    argv_storage.push_back(program.string());
    for (auto& arg : args) argv_storage.push_back(std::move(arg));
    std::vector<char*> argv;
    for (auto& arg : argv_storage) argv.push_back(arg.data());
    argv.push_back(nullptr);
    const std::string program_path = program.string();
    const std::string cwd_path = cwd.string();

    const int log_fd = ::open(log_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) {
        throw std::runtime_error("cannot open " + log_file_.string() + ": " + std::strerror(errno));
    }
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    const pid_t parent = ::getpid();

    pid_ = ::fork();
    if (pid_ == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127);
        ::dup2(null_fd, 0);
        ::dup2(log_fd, 1);
        ::dup2(log_fd, 2);
        ::close_range(3, ~0U, 0);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        if (!cwd_path.empty() && ::chdir(cwd_path.c_str()) != 0) ::_exit(127);
        ::execv(program_path.c_str(), argv.data());
        const char message[] = "exec failed\n";
        [[maybe_unused]] auto written = ::write(2, message, sizeof message - 1);
        ::_exit(127);
    }
    const int fork_errno = errno;
    ::close(log_fd);
    if (null_fd >= 0) ::close(null_fd);
    if (pid_ < 0)
        throw std::runtime_error(std::string("fork failed: ") + std::strerror(fork_errno));
}

ChildProcess::~ChildProcess() {
    kill();
}

bool ChildProcess::reap(bool block) {
    if (exit_code_) return true;
    if (pid_ <= 0) return true;
    int status = 0;
    pid_t r;
    do {
        r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == 0) return false;
    if (r < 0) {
        exit_code_ = -1;
        return true;
    }
    if (WIFEXITED(status)) {
        exit_code_ = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        exit_code_ = 128 + WTERMSIG(status);
    } else {
        return false;
    }
    return true;
}

bool ChildProcess::running() {
    return !reap(false);
}

std::optional<int> ChildProcess::wait_exit(Millis timeout) {
    wait_until([&] { return reap(false); }, timeout, 5ms);
    return exit_code_;
}

void ChildProcess::signal(int signo) {
    if (!exit_code_ && pid_ > 0) ::kill(pid_, signo);
}

int ChildProcess::terminate(Millis grace) {
    signal(SIGTERM);
    if (auto code = wait_exit(grace)) return *code;
    kill();
    return *exit_code_;
}

void ChildProcess::kill() {
    if (exit_code_ || pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    reap(true);
}

LogMatch ChildProcess::require_log(const std::string& pattern, Millis timeout, std::size_t nth) {
    std::optional<LogMatch> found;
    bool exited = false;
    wait_until(
        [&] {
            exited = !running();
            return (found = watcher_.find(pattern, nth)).has_value() || exited;
        },
        timeout);
    if (!found) found = watcher_.find(pattern, nth);  // written just before exiting
    if (found) return *found;
    throw std::runtime_error(
        name_ + ": no line #" + std::to_string(nth) + " matching /" + pattern + "/ " +
        (exited ? "before it exited with code " + std::to_string(exit_code_.value_or(-1))
                : "within " + std::to_string(timeout.count()) + " ms") +
        "; last lines of " + log_file_.string() + ":\n" + watcher_.tail());
}

std::string ChildProcess::log_text() const {
    return read_file(log_file_);
}

std::string ChildProcess::log_tail(std::size_t lines) {
    return watcher_.tail(lines);
}

RunResult run_program(const std::filesystem::path& program, const std::vector<std::string>& args,
                      const std::filesystem::path& log_file, Millis timeout,
                      const std::filesystem::path& cwd) {
    ChildProcess child(program.filename().string(), program, args, log_file, cwd);
    RunResult result;
    result.exit_code = child.wait_exit(timeout);
    if (!result.exit_code) child.kill();
    result.output = child.log_text();
    return result;
}

}  // namespace edgeway::test
