// `edgeway turn user add|remove|list` and `edgeway turn secret set|clear`: the TURN credentials
// from the shell: an edge's local database (DIR/turn.db), or a core's (DIR/turn.db, or the
// cluster's etcd), which the core pushes to its edges. Changes count at once.
#include "turn/turn.hpp"

#include "common/cli_exit.hpp"
#include "turn/credential_store.hpp"
#include "turn/integrity.hpp"

#include <openssl/rand.h>

#include <istream>
#include <optional>
#include <ostream>

namespace edgeway::turn {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDefaultStateDirectory = "/var/lib/edgeway/edge";
constexpr const char* kDefaultRealm = "edgeway";
constexpr std::size_t kGeneratedBytes = 18;  // 24 base64 characters

constexpr const char* kUsage =
    R"(usage: edgeway turn user add USER [--realm REALM] [--generate]
       edgeway turn user remove USER
       edgeway turn user list
       edgeway turn secret set | secret clear
each with [--state-dir DIR | --config EDGE.json | --config CORE.json]

Manages the TURN relay credentials in DIR/turn.db: an edge's own (its relay's "credentials":
"local", the default), or a core's, which every edge with "credentials": "pushed" gets over
the traversal links within a second; a core whose "state" is etcd keeps them in etcd, shared
by every core of the cluster. DIR (and REALM) come from the configuration given with --config
(a core's realm is its "turn": {"realm"}), else --state-dir (and --realm, default "edgeway"),
else /var/lib/edgeway/edge. `user add` reads the password from the first line of standard input, or
with --generate makes a random one and prints it once. The database keeps MD5(user:realm:
password), the key TURN's message integrity needs, so a user belongs to one realm: after
changing the relay's realm, add the users again. `secret set` reads the TURN REST API shared
secret from standard input (time-limited usernames "EXPIRY:name"); `secret clear` removes it.
)";

std::string read_line(std::istream& in) {
    std::string line;
    std::getline(in, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
}

std::string random_password() {
    std::uint8_t bytes[kGeneratedBytes];
    if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("no random bytes");
    std::string text = stun::base64(bytes);
    // Characters that survive copy and paste into any configuration field.
    for (auto& c : text)
        if (c == '+')
            c = '-';
        else if (c == '/')
            c = '_';
    return text;
}

}  // namespace

int run_turn_command(const std::vector<std::string>& args,
                     const std::function<CliSettings(const fs::path&)>& settings_of,
                     std::istream& in, std::ostream& out, std::ostream& err) {
    for (const auto& arg : args)
        if (arg == "--help" || arg == "-h") return out << kUsage, kExitOk;
    std::vector<std::string> words;
    std::optional<fs::path> config, state_dir;
    std::optional<std::string> realm;
    bool generate = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg == "--state-dir" || arg == "--config" || arg == "--realm") {
            if (i + 1 >= args.size()) {
                err << "edgeway turn: " << arg << " needs a value\n";
                return kExitUsage;
            }
            const std::string& value = args[++i];
            if (arg == "--realm")
                realm = value;
            else
                (arg == "--config" ? config : state_dir) = value;
        } else if (arg == "--generate") {
            generate = true;
        } else if (!arg.empty() && arg[0] == '-') {
            err << "edgeway turn: unknown option " << arg << "\n";
            return kExitUsage;
        } else {
            words.push_back(arg);
        }
    }
    const bool user_add = words.size() == 3 && words[0] == "user" && words[1] == "add";
    const bool user_remove = words.size() == 3 && words[0] == "user" && words[1] == "remove";
    const bool user_list = words.size() == 2 && words[0] == "user" && words[1] == "list";
    const bool secret_set = words.size() == 2 && words[0] == "secret" && words[1] == "set";
    const bool secret_clear = words.size() == 2 && words[0] == "secret" && words[1] == "clear";
    if (!(user_add || user_remove || user_list || secret_set || secret_clear)) {
        err << kUsage;
        return kExitUsage;
    }
    CliSettings settings{kDefaultStateDirectory, kDefaultRealm, {}};
    try {
        if (config)
            settings = settings_of(*config);
        else if (state_dir)
            settings.state_directory = *state_dir;
    } catch (const std::exception& e) {
        err << "edgeway turn: " << e.what() << "\n";
        return kExitUsage;
    }
    if (realm) settings.realm = *realm;
    const CredentialLocation where(settings.state_directory, settings.state);
    const std::string file = where.describe();

    try {
        if (user_add) {
            const std::string& name = words[2];
            std::string password = generate ? random_password() : read_line(in);
            if (password.empty()) {
                err << "edgeway turn: no password on standard input (or use --generate); "
                       "nothing changed\n";
                return kExitUsage;
            }
            set_user(where, name, settings.realm, password);
            out << "TURN user \"" << name << "\" set for realm \"" << settings.realm << "\" in "
                << file << "\n";
            if (generate) out << "password: " << password << "\n";
        } else if (user_remove) {
            if (!remove_user(where, words[2])) {
                err << "edgeway turn: no TURN user \"" << words[2] << "\" in " << file << "\n";
                return kExitFailed;
            }
            out << "TURN user \"" << words[2] << "\" removed from " << file << "\n";
        } else if (user_list) {
            for (const auto& user : list_users(where))
                out << user.name << "\trealm=" << user.realm << "\tchanged=" << user.changed_at
                    << "\n";
        } else {
            if (secret_clear) {
                set_shared_secret(where, std::nullopt);
                out << "TURN REST API secret cleared in " << file << "\n";
            } else {
                const std::string secret = read_line(in);
                if (secret.empty()) {
                    err << "edgeway turn: no secret on standard input; nothing changed\n";
                    return kExitUsage;
                }
                set_shared_secret(where, secret);
                out << "TURN REST API secret set in " << file << "\n";
            }
        }
    } catch (const std::exception& e) {
        err << "edgeway turn: " << e.what() << "\n";
        return kExitFailed;
    }
    return kExitOk;
}

}  // namespace edgeway::turn
