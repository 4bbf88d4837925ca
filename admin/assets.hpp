// The web UI's files (admin/ui), embedded in the binary at build time by embed_assets.cmake:
// the UI works without internet access and cannot drift from the server that serves it.
#pragma once

#include <string_view>

namespace edgeway::admin {

struct Asset {
    std::string_view name;  // file name in admin/ui: "rules.html", "app.css"
    std::string_view content_type;
    std::string_view body;
};

// The asset with this file name, or null.
const Asset* find_asset(std::string_view name);

}  // namespace edgeway::admin
