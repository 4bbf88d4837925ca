// A node's configuration as the running code sees it: an immutable snapshot, swapped whole when
// the file is reloaded (SIGHUP). Each connection, stream or link takes the snapshot current when
// it starts and keeps it to its end, so nothing ever sees half of an old and half of a new file.
#pragma once

#include <atomic>
#include <memory>

namespace edgeway::proxy {

template <typename Config>
class LiveConfig {
  public:
    explicit LiveConfig(Config initial)
        : current_(std::make_shared<const Config>(std::move(initial))) {}

    std::shared_ptr<const Config> get() const { return current_.load(); }
    void set(Config next) { current_.store(std::make_shared<const Config>(std::move(next))); }

  private:
    std::atomic<std::shared_ptr<const Config>> current_;
};

}  // namespace edgeway::proxy
