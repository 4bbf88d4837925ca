#include "tests/support/diagnostics.hpp"

#include "tests/support/log_watcher.hpp"

#include <iostream>
#include <map>
#include <mutex>
#include <utility>

namespace edgeway::test {
namespace {

struct Registry {
    std::mutex mutex;
    std::size_t next_id = 1;
    std::map<std::size_t, std::pair<std::string, std::filesystem::path>> logs;
    bool dumped = false;
};

Registry& registry() {
    static Registry instance;
    return instance;
}

}  // namespace

DiagnosticLog::DiagnosticLog(std::string name, std::filesystem::path file) {
    auto& r = registry();
    std::lock_guard lock(r.mutex);
    id_ = r.next_id++;
    r.logs.emplace(id_, std::make_pair(std::move(name), std::move(file)));
}

DiagnosticLog::~DiagnosticLog() {
    auto& r = registry();
    std::lock_guard lock(r.mutex);
    r.logs.erase(id_);
}

std::string registered_log_tails(std::size_t max_lines) {
    auto& r = registry();
    std::lock_guard lock(r.mutex);
    std::string text;
    for (const auto& [id, entry] : r.logs) {
        LogWatcher watcher(entry.second);
        text += "---- " + entry.first + " (" + entry.second.string() + ")\n";
        text += watcher.tail(max_lines);
    }
    return text;
}

void dump_registered_logs_once() {
    {
        auto& r = registry();
        std::lock_guard lock(r.mutex);
        if (r.dumped) return;
        r.dumped = true;
    }
    auto text = registered_log_tails();
    if (!text.empty())
        std::cout << "==== process logs at the failed assertion\n" << text << std::flush;
}

void reset_log_dump() {
    auto& r = registry();
    std::lock_guard lock(r.mutex);
    r.dumped = false;
}

}  // namespace edgeway::test
