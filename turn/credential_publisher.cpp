// The core's side of the TURN credentials: one thread reads the storage, at start and whenever
// it may have changed (SQLite: PRAGMA data_version polled; etcd: a watch on the credential
// keys wakes it), and publishes each new set as the line its feeds push to the edges.
#include "turn/credential_store.hpp"
#include "turn/turn.hpp"

#include <condition_variable>
#include <mutex>
#include <thread>

namespace edgeway::turn {

namespace {
constexpr std::chrono::milliseconds kPollInterval{200};
}  // namespace

struct CredentialPublisher::Impl {
    Impl(state::Config s, std::filesystem::path f, Logger& l)
        : state(std::move(s)), file(std::move(f)), log(l) {}

    const state::Config state;
    const std::filesystem::path file;
    Logger& log;
    std::vector<std::function<void()>> listeners;
    std::unique_ptr<CredentialStorage> storage;  // the publisher's thread only, once started
    CredentialStore* file_store = nullptr;       // storage, when it is the SQLite file
    std::optional<CredentialSet> published;      // likewise
    std::atomic<std::shared_ptr<const std::string>> wire;
    bool unreachable = false;  // the last read failed; logged once per outage

    std::mutex mutex;
    std::condition_variable wake;
    bool stopping = false;
    bool dirty = false;  // the watch saw a change (etcd)
    std::unique_ptr<state::Watch> watch;
    std::thread thread;

    bool etcd() const { return state.backend == state::Backend::etcd; }

    void mark_dirty() {
        {
            std::lock_guard lock(mutex);
            dirty = true;
        }
        wake.notify_one();
    }

    // Reads the set and publishes it when it is new: other content, or (etcd) a newer read of
    // the same content, so that an edge holding a newer number from another core is brought
    // back to what this core serves only by a number at least as new.
    void refresh() {
        CredentialSet set;
        try {
            set = storage->credential_set();
        } catch (const std::exception& e) {
            if (!std::exchange(unreachable, true))
                log.warn(
                    "cannot read the TURN credentials from {}: {}; the edges keep the last set",
                    storage->where(), e.what());
            return;
        }
        if (std::exchange(unreachable, false))
            log.info("the TURN credentials can be read again from {}", storage->where());
        if (published && published->version == set.version && published->same_credentials(set))
            return;
        const bool content_changed = !published || !published->same_credentials(set);
        wire.store(std::make_shared<const std::string>(credential_set_to_json(set) + "\n"));
        if (content_changed)
            log.info("TURN credentials version {}: {}", set.version, describe(set));
        published = std::move(set);
        for (const auto& listener : listeners) listener();
    }

    void run() {
        std::unique_lock lock(mutex);
        while (!stopping) {
            wake.wait_for(lock, kPollInterval, [this] { return stopping || dirty; });
            if (stopping) break;
            const bool changed = std::exchange(dirty, false);
            lock.unlock();
            try {
                if (changed || (file_store && file_store->changed_elsewhere())) refresh();
            } catch (const std::exception& e) {
                log.warn("following the TURN credentials failed: {}", e.what());
            }
            lock.lock();
        }
    }
};

CredentialPublisher::CredentialPublisher(state::Config state, std::filesystem::path sqlite_file,
                                         Logger& log)
    : impl_(std::make_unique<Impl>(std::move(state), std::move(sqlite_file), log)) {}

CredentialPublisher::~CredentialPublisher() {
    stop();
}

void CredentialPublisher::on_publish(std::function<void()> listener) {
    impl_->listeners.push_back(std::move(listener));
}

void CredentialPublisher::start() {
    auto& s = *impl_;
    try {
        if (s.etcd()) {
            s.storage = open_credential_storage(s.state, s.file);
        } else {
            auto file_store = std::make_unique<CredentialStore>(s.file);
            s.file_store = file_store.get();
            s.storage = std::move(file_store);
        }
    } catch (const std::exception& e) {
        throw std::runtime_error(std::string("cannot open the TURN credentials: ") + e.what());
    }
    s.refresh();
    if (s.etcd()) {
        state::Watch::Handlers handlers;
        handlers.events = [&s](const auto&, std::int64_t) { s.mark_dirty(); };
        handlers.reset = [&s](const state::Range&) { s.mark_dirty(); };
        // (Re)connected: a change made while it was away is read now.
        handlers.connected = [&s] { s.mark_dirty(); };
        handlers.lost = [&s](const std::string& problem) {
            s.log.warn(
                "TURN credentials: the cluster store is unreachable ({}); the edges keep "
                "the last set until it is back",
                problem);
        };
        s.watch = std::make_unique<state::Watch>(s.state.etcd, kEtcdCredentialPrefix, 0,
                                                 std::move(handlers));
    }
    s.thread = std::thread([&s] { s.run(); });
}

void CredentialPublisher::stop() {
    auto& s = *impl_;
    s.watch.reset();  // its thread calls mark_dirty: stopped first
    {
        std::lock_guard lock(s.mutex);
        s.stopping = true;
    }
    s.wake.notify_one();
    if (s.thread.joinable()) s.thread.join();
}

std::shared_ptr<const std::string> CredentialPublisher::wire() const {
    return impl_->wire.load();
}

}  // namespace edgeway::turn
