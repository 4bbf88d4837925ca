// The traversal links as the status page shows them: one row per link the core keeps to an
// edge (Connecting, Active, Failed with the reason, since when), or per core connected to an
// edge (a link that went down stays as Failed until that core is back). Written by the link
// loops on the worker threads, read by the admin thread; a mutex keeps them apart, and a live
// row reads its counters from the LinkSession's atomics.
#pragma once

#include "common/telemetry.hpp"
#include "proxy/link_session.hpp"

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace edgeway::proxy {

class LinkBoard {
  public:
    // The domains the links serve, asked at each snapshot (the join URL hosts on a core, the
    // allow list's hosts on an edge).
    using DomainSource = std::function<std::vector<std::string>()>;
    explicit LinkBoard(DomainSource domains) : domains_(std::move(domains)) {}

    // key names one row: a core's "edge address#index", an edge's connection.
    void connecting(const std::string& key, const std::string& peer, const std::string& name);
    // The link is up. On an edge, a Failed row left by the same core (name) goes.
    void active(const std::string& key, const std::string& name,
                const std::shared_ptr<const LinkSession>& link);
    // A row that is Failed already keeps its "since" and takes the new reason.
    void failed(const std::string& key, const std::string& reason);
    void remove(const std::string& key);

    std::vector<telemetry::LinkStatus> snapshot() const;

  private:
    struct Row {
        telemetry::LinkStatus status;  // connecting or failed; for active, name and peer only
        std::weak_ptr<const LinkSession> link;
    };
    // Rows of links that went down, kept on an edge until their core is back; bounded.
    static constexpr std::size_t kMaxFailedRows = 32;

    void drop_oldest_failed();

    DomainSource domains_;
    mutable std::mutex mutex_;
    std::map<std::string, Row> rows_;
};

}  // namespace edgeway::proxy
