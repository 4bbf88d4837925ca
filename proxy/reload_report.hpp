// Filling a ReloadReport while a new configuration is compared with the running one.
#pragma once

#include "proxy/proxy.hpp"

namespace edgeway::proxy {

// A field only a restart applies: when it changed, the running value is kept in `next` and the
// report names the field.
template <typename T>
void keep_for_restart(ReloadReport& report, const char* field, const T& running, T& next) {
    if (running == next) return;
    report.need_restart.emplace_back(field);
    next = running;
}

// A field applied at once: the report names it when it changed.
template <typename T>
void note_applied(ReloadReport& report, const char* field, const T& running, const T& next) {
    if (!(running == next)) report.applied.emplace_back(field);
}

}  // namespace edgeway::proxy
