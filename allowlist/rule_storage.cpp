#include "allowlist/allowlist.hpp"
#include "allowlist/etcd_store.hpp"

namespace edgeway::allowlist {

std::unique_ptr<RuleStorage> open_rule_storage(const state::Config& config,
                                               const std::filesystem::path& sqlite_file) {
    if (config.backend == state::Backend::etcd)
        return std::make_unique<EtcdRuleStore>(config.etcd,
                                               sqlite_file.parent_path() / kRuleCacheFile);
    return std::make_unique<RuleStore>(sqlite_file);
}

}  // namespace edgeway::allowlist
