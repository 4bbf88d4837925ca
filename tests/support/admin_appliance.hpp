// An appliance whose core (and, when asked, edge) runs its admin server on a kernel-picked port
// with the lab certificate for localhost, and clients logged in with the first-start password.
#pragma once

#include "tests/support/admin_client.hpp"
#include "tests/support/appliance.hpp"

#include <memory>
#include <string>

namespace edgeway::test {

struct AdminApplianceOptions {
    bool edge_admin = false;  // the edge gets an admin listener too (and a state directory)
    ApplianceOptions appliance;
};

class AdminAppliance {
  public:
    explicit AdminAppliance(AdminApplianceOptions options = {});

    Appliance& app() { return *app_; }
    std::uint16_t core_admin_port() const { return core_port_; }
    std::uint16_t edge_admin_port() const { return edge_port_; }
    const std::string& core_password() const { return core_password_; }
    const std::string& edge_password() const { return edge_password_; }

    TlsTarget core_target() const { return target(core_port_); }
    TlsTarget edge_target() const { return target(edge_port_); }
    // Clients logged in as the first account (one scrypt check each: keep them few).
    AdminClient core_admin() const { return logged_in(core_target(), core_password_); }
    AdminClient edge_admin() const { return logged_in(edge_target(), edge_password_); }

    static constexpr const char* kAdminListening = R"(admin listening on 127\.0\.0\.1:(\d+))";
    static constexpr const char* kFirstPassword =
        R"(first start: admin account "admin" created with password: (\S+))";

  private:
    TlsTarget target(std::uint16_t port) const;
    static AdminClient logged_in(const TlsTarget& target, const std::string& password);

    std::unique_ptr<Appliance> app_;
    std::uint16_t core_port_ = 0, edge_port_ = 0;
    std::string core_password_, edge_password_;
};

}  // namespace edgeway::test
