// `edgeway admin passwd USER`: sets a local admin account's password in the state directory's
// admin.db. The password comes from the terminal (asked twice, without echo) or, when standard
// input is not a terminal, from its first line, so scripts can pipe it in.
#include "admin/admin.hpp"

#include "admin/account_store.hpp"
#include "admin/password.hpp"
#include "common/cli_exit.hpp"

#include <termios.h>
#include <unistd.h>

#include <istream>
#include <ostream>

namespace edgeway::admin {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDefaultStateDirectory = "/var/lib/edgeway/core";

constexpr const char* kUsage =
    R"(usage: edgeway admin passwd USER [--state-dir DIR | --config CORE.json]

Sets the password of local admin account USER (creating the account if needed) in
DIR/admin.db, or in the cluster's etcd when the core configuration given with --config says
so ("state": {"backend": "etcd", ...}). DIR is the state_directory of that configuration, else
--state-dir, else /var/lib/edgeway/core. The password is read from the terminal without echo,
or from the first line of standard input when that is not a terminal. It must have at least
12 characters. A running server uses the new password from the next login on.
)";

// Reads a line with the terminal's echo off (restored afterwards, even on end of input).
std::string read_hidden(std::istream& in, std::ostream& out, const char* prompt) {
    out << prompt << std::flush;
    termios saved{};
    const bool tty = ::tcgetattr(STDIN_FILENO, &saved) == 0;
    if (tty) {
        termios quiet = saved;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    std::string line;
    std::getline(in, line);
    if (tty) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    out << "\n";
    return line;
}

}  // namespace

void set_password(const fs::path& state_directory, const state::Config& state,
                  const std::string& user, const std::string& password) {
    if (password.size() < kMinPasswordLength)
        throw std::runtime_error("the password is too short: it needs at least " +
                                 std::to_string(kMinPasswordLength) + " characters");
    const auto store = open_account_storage(state, state_directory / kAccountDatabaseFile);
    store->set_password_hash(user, hash_password(password));
}

int run_admin_command(const std::vector<std::string>& args,
                      const std::function<StateLocation(const fs::path&)>& state_of,
                      std::istream& in, std::ostream& out, std::ostream& err) {
    for (const auto& arg : args)
        if (arg == "--help" || arg == "-h") return out << kUsage, kExitOk;
    if (args.empty() || args[0] != "passwd") {
        err << kUsage;
        return kExitUsage;
    }
    std::string user;
    fs::path state_directory = kDefaultStateDirectory;
    state::Config backend;
    std::optional<fs::path> config, state_dir;
    for (std::size_t i = 1; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg == "--state-dir" || arg == "--config") {
            if (i + 1 >= args.size()) {
                err << "edgeway admin passwd: " << arg << " needs a value\n";
                return kExitUsage;
            }
            (arg == "--config" ? config : state_dir) = args[++i];
        } else if (!arg.empty() && arg[0] == '-') {
            err << "edgeway admin passwd: unknown option " << arg << "\n";
            return kExitUsage;
        } else if (user.empty()) {
            user = arg;
        } else {
            err << "edgeway admin passwd: one user at a time\n";
            return kExitUsage;
        }
    }
    if (user.empty()) {
        err << kUsage;
        return kExitUsage;
    }
    try {
        if (config) {
            auto location = state_of(*config);
            state_directory = std::move(location.directory);
            backend = std::move(location.state);
        } else if (state_dir) {
            state_directory = *state_dir;
        }
    } catch (const std::exception& e) {
        err << "edgeway admin passwd: " << e.what() << "\n";
        return kExitUsage;
    }

    std::string password;
    if (::isatty(STDIN_FILENO)) {
        password = read_hidden(in, out, ("New password for " + user + ": ").c_str());
        if (password.size() >= kMinPasswordLength && read_hidden(in, out, "Again: ") != password) {
            err << "edgeway admin passwd: the passwords differ; nothing changed\n";
            return kExitUsage;
        }
    } else {
        std::getline(in, password);
        if (!password.empty() && password.back() == '\r') password.pop_back();
    }
    if (password.size() < kMinPasswordLength) {
        err << "edgeway admin passwd: the password is too short: it needs at least "
            << kMinPasswordLength << " characters; nothing changed\n";
        return kExitUsage;
    }
    try {
        set_password(state_directory, backend, user, password);
    } catch (const state::Unavailable& e) {
        err << "edgeway admin passwd: " << e.what() << "; nothing was changed\n";
        return kExitFailed;
    } catch (const std::exception& e) {
        err << "edgeway admin passwd: " << e.what() << "\n";
        return kExitFailed;
    }
    const std::string where = backend.backend == state::Backend::etcd
                                  ? state::describe(backend.etcd)
                                  : (state_directory / kAccountDatabaseFile).string();
    out << "password of admin account \"" << user << "\" set in " << where << "\n";
    return kExitOk;
}

}  // namespace edgeway::admin
