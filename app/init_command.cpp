// `edgeway init`: what a node needs before its first start, made once: the certificates its
// configuration names (from a CA of the node's own), its state directory and the first admin
// account. An appliance's first boot runs it and shows its output on the console.
#include "app/init_command.hpp"

#include "admin/admin.hpp"
#include "common/cli_exit.hpp"
#include "proxy/proxy.hpp"
#include "tls/tls.hpp"

#include <fmt/format.h>

#include <unistd.h>

#include <filesystem>
#include <optional>

namespace edgeway::app {
namespace {

namespace fs = std::filesystem;

constexpr const char* kUsage =
    R"(usage: edgeway init [--config FILE | --role edge|core] [--host NAME]... [--ip ADDRESS]...

Prepares a node for its first start, and prints its admin page's address:
- every certificate and key the configuration names that is missing is created, signed by a CA
  of this node's own (node-ca.pem and node-ca.key beside them, made when needed): the browsers'
  443 certificate and the link certificate of an edge, the link client certificate of a core,
  and the admin (445) certificate, for the host names (--host; default this machine's name)
  and addresses (--ip) given;
- on an edge, a missing link client CA becomes the node CA: cores need a link certificate it
  signed;
- the state directory is created and, when it has no account, the administrator account
  "admin" with a random password, printed here this once.
Existing files and accounts are kept: running it again changes nothing. --role ROLE reads
/etc/edgeway/ROLE.json.
)";

struct Options {
    fs::path config;
    std::string role;  // "edge" or "core" when --role named it
    std::vector<std::string> hosts, addresses;
};

// One certificate the configuration names, made when it is missing.
struct Wanted {
    const char* label;  // as the operator knows it: "https (443)", "admin (445)", "link"
    fs::path certificate, key;
    tls::Usage usage;
};

class Init {
  public:
    Init(Options options, std::ostream& out) : options_(std::move(options)), out_(out) {
        if (options_.hosts.empty()) options_.hosts.push_back(host_name());
    }

    void edge(const proxy::EdgeConfig& config) {
        std::vector<Wanted> wanted{
            {"https (443)", config.certificate, config.private_key, tls::Usage::server},
            {"link", config.link_certificate, config.link_private_key, tls::Usage::server}};
        if (config.admin)
            wanted.push_back({"admin (445)", config.admin->certificate, config.admin->private_key,
                              tls::Usage::server});
        make(wanted);
        if (!fs::exists(config.link_client_ca)) {
            fs::copy_file(node_ca(config.link_client_ca.parent_path()), config.link_client_ca);
            created_.push_back(config.link_client_ca);
            notes_.push_back(
                fmt::format("cores must present a link certificate signed by {} (this node's CA)",
                            config.link_client_ca.string()));
        }
        notes_.push_back(
            "browsers warn about the 443 certificate until one for the join URL's host is "
            "uploaded (System > Administration > Certificates)");
        finish("edge", config.state_directory, config.admin);
    }

    void core(const proxy::CoreConfig& config) {
        std::vector<Wanted> wanted{
            {"link client", config.link_certificate, config.link_private_key, tls::Usage::client}};
        if (config.admin)
            wanted.push_back({"admin (445)", config.admin->certificate, config.admin->private_key,
                              tls::Usage::server});
        make(wanted);
        if (!fs::exists(config.edge_ca))
            notes_.push_back(fmt::format(
                "{} is missing: put the CA that signed the edges' link certificates there",
                config.edge_ca.string()));
        if (!config.webbridge_ca.empty() && !fs::exists(config.webbridge_ca))
            notes_.push_back(fmt::format(
                "{} is missing: put the CA that signed the web bridge's certificate there",
                config.webbridge_ca.string()));
        finish("core", config.state_directory, config.admin, config.state);
    }

  private:
    static std::string host_name() {
        char name[256] = "";
        if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
        return name;
    }

    // The node CA (in dir, made when missing there); one per run.
    fs::path node_ca(const fs::path& dir) {
        if (!ca_cert_.empty()) return ca_cert_;
        const fs::path cert = dir / "node-ca.pem", key = dir / "node-ca.key";
        if (!fs::exists(cert)) {
            fs::create_directories(dir);
            tls::write_ca(cert, key, "Edgeway node CA " + options_.hosts.front());
            created_.push_back(cert);
        }
        ca_cert_ = cert;
        ca_key_ = key;
        return cert;
    }

    void make(const std::vector<Wanted>& wanted) {
        const tls::Subject subject{options_.hosts.front(), options_.hosts, options_.addresses};
        for (const auto& w : wanted) {
            const bool have_cert = fs::exists(w.certificate), have_key = fs::exists(w.key);
            if (have_cert != have_key)
                throw std::runtime_error(fmt::format(
                    "{} exists without {}: put the matching file there, or remove both to have "
                    "them made",
                    (have_cert ? w.certificate : w.key).string(),
                    (have_cert ? w.key : w.certificate).string()));
            if (!have_cert) {
                if (ca_cert_.empty()) node_ca(w.certificate.parent_path());
                fs::create_directories(w.certificate.parent_path());
                tls::write_leaf(ca_cert_, ca_key_, w.certificate, w.key, subject, w.usage);
                created_.push_back(w.certificate);
            }
            shown_.push_back({w.label, w.certificate});
        }
    }

    // A core of a cluster creates the first account in etcd, unless another core did.
    void finish(const char* role, const fs::path& state_directory,
                const std::optional<proxy::AdminListenerConfig>& admin_listener,
                const state::Config& state = {}) {
        fs::create_directories(state_directory);
        fs::permissions(state_directory, fs::perms::owner_all, fs::perm_options::replace);
        const auto password = admin::create_first_account(state_directory, state);

        out_ << fmt::format("Edgeway {} {} is ready to start.\n", role, options_.hosts.front());
        if (admin_listener) {
            const auto colon = admin_listener->listen.rfind(':');
            const std::string port = admin_listener->listen.substr(colon + 1);
            std::vector<std::string> where = options_.addresses;
            where.insert(where.begin(), options_.hosts.front());
            for (const auto& host : where)
                out_ << fmt::format("  Admin page: https://{}{}/\n",
                                    host.find(':') != std::string::npos ? "[" + host + "]" : host,
                                    port == "443" ? "" : ":" + port);
        } else {
            out_ << "  No admin listener is configured (no \"admin\" object).\n";
        }
        if (password)
            out_ << fmt::format(
                "  User: {}\n  Password: {}\n  (shown this once; change it in the admin page)\n",
                admin::kFirstAccount, *password);
        else
            out_ << "  Admin accounts exist already: their passwords are unchanged.\n";
        out_ << "  Certificates (SHA-256 fingerprints):\n";
        for (const auto& [label, file] : shown_)
            out_ << fmt::format("    {:<12} {}{}\n               {}\n", label, file.string(),
                                is_created(file) ? " (new)" : "", tls::fingerprint_sha256(file));
        for (const auto& note : notes_) out_ << "  Note: " << note << "\n";
    }

    bool is_created(const fs::path& file) const {
        return std::find(created_.begin(), created_.end(), file) != created_.end();
    }

    Options options_;
    std::ostream& out_;
    fs::path ca_cert_, ca_key_;
    std::vector<fs::path> created_;
    std::vector<std::pair<std::string, fs::path>> shown_;
    std::vector<std::string> notes_;
};

std::optional<Options> parse(const std::vector<std::string>& args, std::ostream& err) {
    Options options;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg != "--config" && arg != "--role" && arg != "--host" && arg != "--ip") {
            err << "edgeway init: unknown option " << arg << "\n" << kUsage;
            return std::nullopt;
        }
        if (i + 1 >= args.size()) {
            err << "edgeway init: " << arg << " needs a value\n";
            return std::nullopt;
        }
        const std::string& value = args[++i];
        if (arg == "--config") options.config = value;
        if (arg == "--role") options.role = value;
        if (arg == "--host") options.hosts.push_back(value);
        if (arg == "--ip") options.addresses.push_back(value);
    }
    if (!options.role.empty() && options.role != "edge" && options.role != "core") {
        err << "edgeway init: --role: expected edge or core, not " << options.role << "\n";
        return std::nullopt;
    }
    if (options.config.empty() && options.role.empty()) {
        err << "edgeway init: give --config FILE or --role edge|core\n" << kUsage;
        return std::nullopt;
    }
    if (options.config.empty()) options.config = "/etc/edgeway/" + options.role + ".json";
    return options;
}

}  // namespace

int run_init_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    for (const auto& arg : args)
        if (arg == "--help" || arg == "-h") return out << kUsage, kExitOk;
    auto options = parse(args, err);
    if (!options) return kExitUsage;
    const fs::path file = options->config;
    const std::string role = options->role;
    Init init(std::move(*options), out);
    try {
        // A core's file names its join URLs and edges; an edge's file is refused as a core's.
        std::optional<proxy::CoreConfig> core;
        std::optional<proxy::EdgeConfig> edge;
        if (role == "core") {
            core = proxy::load_core_config(file);
        } else if (role == "edge") {
            edge = proxy::load_edge_config(file);
        } else {
            try {
                core = proxy::load_core_config(file);
            } catch (const proxy::ConfigError& core_error) {
                try {
                    edge = proxy::load_edge_config(file);
                } catch (const proxy::ConfigError&) {
                    throw core_error;
                }
            }
        }
        if (core) init.core(*core);
        if (edge) init.edge(*edge);
    } catch (const proxy::ConfigError& e) {
        err << "edgeway init: " << e.what() << "\n";
        return kExitUsage;
    } catch (const std::exception& e) {
        err << "edgeway init: " << e.what() << "\n";
        return kExitFailed;
    }
    return kExitOk;
}

}  // namespace edgeway::app
