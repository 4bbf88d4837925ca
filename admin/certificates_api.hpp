// /api/v1/certificates: the admin listener's certificate ("admin", 445) and the node's other
// certificate slots (ServerConfig::certificates: the browsers' 443 one on an edge, the link's,
// the CA link peers chain to). An upload is checked whole (certificate_check) before anything
// is written; the files are replaced atomically and the node reloads them for new connections.
// If the reload still fails, the old files are put back.
#pragma once

#include "admin/admin.hpp"
#include "admin/admin_state.hpp"
#include "admin/audit_api.hpp"
#include "admin/http_types.hpp"
#include "admin/listener_control.hpp"

#include "common/log.hpp"

#include <optional>
#include <string_view>

namespace edgeway::admin {

class CertificatesApi {
  public:
    CertificatesApi(AdminState& state, Logger& log, const ServerConfig& config,
                    ListenerControl& listener)
        : state_(state), log_(log), config_(config), listener_(listener) {}

    std::optional<Response> handle(const Request& request, std::string_view path,
                                   const ChangeAuthor& author);
    // Whether this node has a 443 certificate the API can replace.
    bool has_https() const { return slot("https") != nullptr; }

  private:
    const CertificateSlot* slot(std::string_view name) const;
    Response list();
    Response replace(std::string_view which, const Request& request, const ChangeAuthor& author);

    AdminState& state_;
    Logger& log_;
    const ServerConfig& config_;
    ListenerControl& listener_;
};

// The join URL hosts that none of the certificate's names covers (a "*.example.com" name
// covers one label).
std::vector<std::string> uncovered_hosts(const std::vector<std::string>& names,
                                         const std::vector<std::string>& join_urls);

}  // namespace edgeway::admin
