// A bounded load of HTTPS requests from several client threads, for tests that restart or kill
// nodes underneath it. Each thread sends its requests one after another (on a keep-alive
// connection, or a new connection each time) until stopped, or until its bound in requests or
// time is reached; every outcome is kept with when it started, and a request counts as
// successful only with status 200 and exactly the expected body.
#pragma once

#include "tests/support/tls_client.hpp"
#include "tests/support/wait.hpp"

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace edgeway::test {

class RequestLoad {
  public:
    struct Request {
        std::string path;
        std::string expected_body;
    };
    struct Options {
        TlsTarget target;
        std::vector<Request> requests;  // each thread goes round them, from its own start
        int threads = 4;
        bool new_connection_each_time = false;
        std::size_t max_requests_per_thread = 100000;
        Millis max_duration = 60000ms;
    };
    struct Outcome {
        Clock::time_point started, ended;
        std::string path;
        bool ok = false;
        std::string error;  // why it failed
    };

    explicit RequestLoad(Options options);
    ~RequestLoad();
    RequestLoad(const RequestLoad&) = delete;
    RequestLoad& operator=(const RequestLoad&) = delete;

    // Requests finished so far, successful or not.
    std::size_t finished() const { return finished_; }
    std::size_t failed() const { return failed_; }
    // Successful requests that started at `since` or later, finished so far.
    std::size_t succeeded_started_after(Clock::time_point since) const;
    // Lets each thread finish its current request, then joins them.
    void stop();
    // After stop().
    const std::vector<Outcome>& outcomes() const { return outcomes_; }
    std::vector<Outcome> failures() const;

  private:
    void run(int thread);

    Options options_;
    std::atomic<bool> stopping_{false};
    std::atomic<std::size_t> finished_{0}, failed_{0};
    mutable std::mutex mutex_;
    std::vector<Outcome> outcomes_;
    std::vector<std::thread> threads_;
};

// The body of the demo web bridge's /drip?chunks=N: "chunk 0\n" ... "chunk N-1\n".
std::string drip_body(std::size_t chunks);

}  // namespace edgeway::test
