#include "tests/support/request_load.hpp"

#include "tests/support/http_client.hpp"

#include <algorithm>
#include <memory>

namespace edgeway::test {

RequestLoad::RequestLoad(Options options) : options_(std::move(options)) {
    for (int i = 0; i < options_.threads; ++i) threads_.emplace_back([this, i] { run(i); });
}

RequestLoad::~RequestLoad() {
    stop();
}

void RequestLoad::stop() {
    stopping_ = true;
    for (auto& thread : threads_)
        if (thread.joinable()) thread.join();
}

std::vector<RequestLoad::Outcome> RequestLoad::failures() const {
    std::vector<Outcome> failed;
    for (const auto& outcome : outcomes_)
        if (!outcome.ok) failed.push_back(outcome);
    return failed;
}

void RequestLoad::run(int thread) {
    const auto end = Clock::now() + options_.max_duration;
    const std::size_t count = options_.requests.size();
    std::unique_ptr<HttpsConnection> connection;
    for (std::size_t n = 0;
         !stopping_ && n < options_.max_requests_per_thread && Clock::now() < end && count > 0;
         ++n) {
        const Request& request = options_.requests[(static_cast<std::size_t>(thread) + n) % count];
        Outcome outcome;
        outcome.path = request.path;
        outcome.started = Clock::now();
        try {
            if (!connection) connection = std::make_unique<HttpsConnection>(options_.target);
            const Response response = connection->get(request.path);
            outcome.ok = response.status == 200 && response.body == request.expected_body;
            if (!outcome.ok)
                outcome.error = "status " + std::to_string(response.status) + ", " +
                                std::to_string(response.body.size()) +
                                " bytes: " + response.body.substr(0, 200);
            if (options_.new_connection_each_time || response.header("connection") == "close")
                connection.reset();
        } catch (const std::exception& e) {
            outcome.error = e.what();
            connection.reset();
        }
        outcome.ended = Clock::now();
        const bool ok = outcome.ok;
        {
            std::lock_guard lock(mutex_);
            outcomes_.push_back(std::move(outcome));
        }
        ++finished_;
        if (!ok) ++failed_;
    }
}

std::size_t RequestLoad::succeeded_started_after(Clock::time_point since) const {
    std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(std::count_if(
        outcomes_.begin(), outcomes_.end(),
        [&](const Outcome& outcome) { return outcome.ok && outcome.started >= since; }));
}

std::string drip_body(std::size_t chunks) {
    std::string body;
    for (std::size_t k = 0; k < chunks; ++k) body += "chunk " + std::to_string(k) + "\n";
    return body;
}

}  // namespace edgeway::test
