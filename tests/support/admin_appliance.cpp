#include "tests/support/admin_appliance.hpp"

#include <stdexcept>

namespace edgeway::test {

using namespace std::chrono_literals;

namespace {

json admin_listener() {
    return {{"listen", "127.0.0.1:0"},
            {"certificate", "pki/edge.pem"},
            {"private_key", "pki/edge.key"}};
}

}  // namespace

AdminAppliance::AdminAppliance(AdminApplianceOptions options) {
    ApplianceOptions& appliance = options.appliance;
    json core_patch = {{"admin", admin_listener()}};
    core_patch.merge_patch(appliance.core_patch);
    appliance.core_patch = std::move(core_patch);
    if (options.edge_admin) {
        json edge_patch = {{"admin", admin_listener()}, {"state_directory", "edge-state"}};
        edge_patch.merge_patch(appliance.edge_patch);
        appliance.edge_patch = std::move(edge_patch);
    }
    app_ = std::make_unique<Appliance>(appliance);
    core_port_ = port_of(app_->core().require_log(kAdminListening, 15s));
    core_password_ = app_->core().require_log(kFirstPassword, 15s)[1];
    if (options.edge_admin) {
        edge_port_ = port_of(app_->edge().require_log(kAdminListening, 15s));
        edge_password_ = app_->edge().require_log(kFirstPassword, 15s)[1];
    }
}

TlsTarget AdminAppliance::target(std::uint16_t port) const {
    TlsTarget target;
    target.port = port;
    target.ca_file = app_->ca_file();
    return target;
}

AdminClient AdminAppliance::logged_in(const TlsTarget& target, const std::string& password) {
    AdminClient client(target);
    const Response response = client.login("admin", password);
    if (response.status != 200)
        throw std::runtime_error("admin login failed: " + std::to_string(response.status) + " " +
                                 response.body);
    return client;
}

}  // namespace edgeway::test
