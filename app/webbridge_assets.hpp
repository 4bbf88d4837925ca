// The demo web bridge's browser page, script, style sheet and icon. They are compiled into the
// binary so that the demo needs no files at run time and loads nothing from elsewhere.
#pragma once

#include <string_view>

namespace edgeway::demo::assets {

struct Asset {
    std::string_view content_type;
    std::string_view body;
};

// The asset served at path ("/", "/app.js", "/style.css", "/favicon.svg"), or nullptr.
const Asset* find(std::string_view path);

}  // namespace edgeway::demo::assets
