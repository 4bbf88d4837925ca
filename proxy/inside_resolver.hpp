// How the core finds the web bridge: the inside DNS, or in a lab a hosts table (the `resolve`
// entries of the configuration plus a hosts file re-read on every discovery round). The join
// URL's name resolves differently inside and outside, so the core must never take the edge's
// view of it.
#pragma once

#include "allowlist/allowlist.hpp"
#include "proxy/live_config.hpp"
#include "proxy/proxy.hpp"

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace edgeway::proxy {

// name -> addresses ("10.0.0.5" or "127.0.0.1:9443": a lab entry may carry its own port).
using HostTable = std::map<std::string, std::vector<std::string>>;

// Parses a lab hosts file: "address[:port] name [name...]" per line, '#' starts a comment.
// Throws std::runtime_error naming the line when a line is malformed.
HostTable parse_hosts_file(const std::string& text, const std::string& file_name);

class InsideResolver {
  public:
    explicit InsideResolver(const LiveConfig<CoreConfig>& config);

    // True while the configuration has a lab table (resolve or hosts_file).
    bool lab() const { return lab_.load(); }

    // Discovery: the targets of one join URL. A name that does not exist gives no targets; a
    // failure to ask (DNS timeout, unreadable hosts file) gives an error instead. Called on one
    // thread only; in a lab it re-reads the hosts file and refreshes the table that address()
    // reads, with the configuration current then (a reload takes effect at the next round).
    boost::asio::awaitable<allowlist::Resolution> resolve(const allowlist::JoinUri& uri);

    // Discovery's answers for the join URLs (the last good one of each), after every round:
    // without a lab table they are where upstream connections go. Called on one thread only.
    void discovered(const std::vector<allowlist::Resolution>& resolutions);

    // Upstream connections (any thread): the targets for host:port, in order, each as
    // "address:port" (a lab entry's own port replaces the request's). In a lab they are the
    // table's entries; otherwise what discovery last found for a join host. Empty when the name
    // is unknown here: in a lab it does not exist, otherwise the system resolver is asked when
    // connecting.
    std::vector<std::string> targets(const std::string& host, std::uint16_t port) const;

  private:
    // Re-reads the hosts file (if any) into a new table; throws with the reason on failure.
    void reload_table();

    const LiveConfig<CoreConfig>& config_;
    std::atomic<bool> lab_;
    // The lab table, or (without a lab) the addresses discovery found per join host.
    std::atomic<std::shared_ptr<const HostTable>> table_;
};

}  // namespace edgeway::proxy
