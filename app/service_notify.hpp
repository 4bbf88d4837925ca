// Tells systemd (Type=notify units) where the process is: ready once every listener is bound, so
// that `systemctl start` returns when the node serves and a unit ordered after it starts then;
// reloading while SIGHUP is handled; stopping. Does nothing when not run by systemd.
#pragma once

#include <string_view>

namespace edgeway::app {

void notify_ready(std::string_view status);
void notify_reloading();
void notify_stopping();
// A new STATUS= line (systemctl status shows it) while the state stays the same.
void notify_status(std::string_view status);

}  // namespace edgeway::app
