// A process running turn::Server alone, for the relay tests and the bench: the tests talk to it
// with real clients (coturn's turnutils) and read its log. Runs until SIGTERM or SIGINT.
//   edgeway_turn_test_server --state-dir DIR [--udp A:P]... [--tcp A:P]... [--ports MIN-MAX]
//     [--realm R] [--user NAME:PASSWORD]... [--allow-peers CIDR]... [--lifetime-ms N]
//     [--sweep-ms N] [--max-allocations N] [--max-per-user N] [--external A]
//     [--max-pps N] [--nonce-ms N] [--log-level L]
#include "common/log.hpp"
#include "turn/turn.hpp"

#include <signal.h>

#include <cstdio>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
    using namespace edgeway;
    auto config = std::make_shared<turn::Config>();
    config->udp_listen.clear();
    config->tcp_listen.clear();
    std::vector<std::pair<std::string, std::string>> users;
    LogLevel level = LogLevel::info;
    try {
        for (int i = 1; i < argc; ++i) {
            const std::string arg = argv[i];
            if (i + 1 >= argc) throw std::runtime_error(arg + " needs a value");
            const std::string value = argv[++i];
            if (arg == "--state-dir")
                config->state_directory = value;
            else if (arg == "--udp")
                config->udp_listen.push_back(value);
            else if (arg == "--tcp")
                config->tcp_listen.push_back(value);
            else if (arg == "--realm")
                config->realm = value;
            else if (arg == "--external")
                config->external_address = value;
            else if (arg == "--allow-peers")
                config->allowed_peer_ranges.push_back(value);
            else if (arg == "--ports") {
                const auto dash = value.find('-');
                config->relay_port_min =
                    static_cast<std::uint16_t>(std::stoul(value.substr(0, dash)));
                config->relay_port_max =
                    static_cast<std::uint16_t>(std::stoul(value.substr(dash + 1)));
            } else if (arg == "--user") {
                const auto colon = value.find(':');
                users.emplace_back(value.substr(0, colon), value.substr(colon + 1));
            } else if (arg == "--lifetime-ms") {
                config->default_lifetime = config->max_lifetime = turn::Millis(std::stol(value));
            } else if (arg == "--nonce-ms") {
                config->nonce_lifetime = turn::Millis(std::stol(value));
            } else if (arg == "--sweep-ms")
                config->sweep_interval = turn::Millis(std::stol(value));
            else if (arg == "--max-allocations")
                config->max_allocations = std::stoul(value);
            else if (arg == "--max-per-user")
                config->max_allocations_per_user = std::stoul(value);
            else if (arg == "--max-pps") {
                config->max_packets_per_second = static_cast<std::uint32_t>(std::stoul(value));
                config->max_bytes_per_second = 1500ull * config->max_packets_per_second;
            } else if (arg == "--log-level") {
                if (!parse_log_level(value, level)) throw std::runtime_error("bad --log-level");
            } else
                throw std::runtime_error("unknown option " + arg);
        }
        for (const auto& [name, password] : users)
            turn::set_user(config->state_directory, name, config->realm, password);
    } catch (const std::exception& e) {
        std::cerr << "edgeway_turn_test_server: " << e.what() << "\n";
        return 2;
    }
    // Block the signals before any thread starts, so only sigwait below sees them.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    Logger log("turn", level);
    turn::Server server(config, log);
    try {
        server.start();
    } catch (const std::exception& e) {
        log.error("{}", e.what());
        return 1;
    }
    int signal = 0;
    sigwait(&signals, &signal);
    server.stop();
    return 0;
}
