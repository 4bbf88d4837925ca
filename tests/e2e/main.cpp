// Catch2 main for the end-to-end tests, with a listener that prints the tails of the running
// processes' logs at the first failed assertion of a test case (while the processes still run).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include "tests/support/diagnostics.hpp"

#include <csignal>

namespace {

struct ProcessLogListener : Catch::TestEventListenerBase {
    using TestEventListenerBase::TestEventListenerBase;

    void testCaseStarting(const Catch::TestCaseInfo& info) override {
        // A child that the test kills must not take the test runner down with SIGPIPE.
        std::signal(SIGPIPE, SIG_IGN);
        edgeway::test::reset_log_dump();
        TestEventListenerBase::testCaseStarting(info);
    }

    bool assertionEnded(const Catch::AssertionStats& stats) override {
        if (!stats.assertionResult.isOk()) edgeway::test::dump_registered_logs_once();
        return true;
    }
};

}  // namespace

CATCH_REGISTER_LISTENER(ProcessLogListener)
