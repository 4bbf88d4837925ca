// Micro benchmark of the allow list's hot path: normalising a request head and checking it
// against compiled rule sets of 10, 1 000 and 10 000 rules. Every operation is timed on its own
// (steady_clock, whose own cost is measured and subtracted) and the median and 99th percentile
// of the best of a few rounds are printed as a Markdown table. Runs for a few seconds; see
// bench/README.md.
#include "allowlist/allowlist.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

using namespace edgeway::allowlist;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kRequests = 4096;  // distinct request heads per rule set
constexpr std::size_t kRounds = 5;       // per column; the best round is reported
constexpr std::size_t kSamples = 60000;  // timed operations per round

const std::vector<std::string> kHosts = {
    "join.example.com",  "meet.example.com",   "bridge1.example.net", "bridge2.example.net",
    "video.example.org", "webrtc.example.org", "cms.corp.example",    "guests.corp.example",
};

const std::vector<std::string> kWords = {
    "api",      "v1",     "v2",     "static",     "js",     "css",     "img",     "users",
    "meetings", "rooms",  "spaces", "recordings", "calls",  "chat",    "assets",  "admin",
    "status",   "health", "config", "login",      "logout", "auth",    "token",   "ws",
    "events",   "files",  "upload", "download",   "public", "private", "reports", "media",
};

const std::vector<MethodSet> kMethodSets = {
    method_bit(Method::GET),
    method_bit(Method::GET) | method_bit(Method::HEAD),
    method_bit(Method::GET) | method_bit(Method::POST),
    method_bit(Method::GET) | method_bit(Method::POST) | method_bit(Method::PUT) |
        method_bit(Method::DELETE),
    method_bit(Method::POST) | method_bit(Method::PATCH),
};

// A request head that owns its strings (RequestHead only views them).
struct Head {
    std::string method;
    std::string target;
    std::string host;
    bool websocket = false;

    RequestHead view() const {
        RequestHead head;
        head.method = method;
        head.target = target;
        head.host = host;
        head.websocket = websocket;
        return head;
    }
};

class Generator {
  public:
    explicit Generator(unsigned seed) : random_(seed) {}

    // Realistic-looking rules: a few hosts (the first ones busiest), mostly https on 443, mixed
    // exact and prefix rules, paths of 2 to 5 segments.
    RuleSet rules(std::size_t count) {
        RuleSet set{1, {}};
        set.rules.reserve(count);
        for (std::size_t i = 0; i < count; ++i) {
            Rule rule;
            rule.id = static_cast<std::int64_t>(i + 1);
            rule.protocol = chance(15) ? Protocol::wss : Protocol::https;
            rule.host = host();
            rule.port = chance(90) ? 443 : 8443;
            rule.match = chance(40) ? Match::exact : Match::prefix;
            rule.path = path(2 + below(4));
            if (rule.match == Match::prefix && chance(70)) rule.path += '/';
            rule.methods = kMethodSets[below(kMethodSets.size())];
            set.rules.push_back(std::move(rule));
        }
        return set;
    }

    // A mix: requests for the rules' paths (mostly allowed), the same with harmless spelling
    // differences, unknown paths, and traversal attempts that the normaliser refuses.
    Head request(const RuleSet& set) {
        const Rule& rule = set.rules[below(set.rules.size())];
        Head head;
        head.method = method_for(rule);
        head.host = rule.port == 443 ? rule.host : rule.host + ":" + std::to_string(rule.port);
        head.websocket = rule.protocol == Protocol::wss;
        const unsigned kind = below(100);
        if (kind < 45) {
            head.target = rule.match == Match::exact ? rule.path : rule.path + path(1 + below(2));
        } else if (kind < 60) {
            head.target = "/" + kWords[below(kWords.size())] + "/./%7e" + path(1 + below(3)) +
                          "?session=8f14e45fceea167a&lang=en";
            head.host = upper_first(head.host);
        } else if (kind < 90) {
            head.target = path(2 + below(4));
        } else {
            static const std::vector<std::string> kTricks = {
                "/api/%2e%2e/admin", "/static/..;/admin", "/files/a%2fb",
                "/../etc/passwd",    "/api/v1/%c0%af",    "/img/a%00.png",
            };
            head.target = kTricks[below(kTricks.size())];
        }
        return head;
    }

  private:
    unsigned below(std::size_t n) { return static_cast<unsigned>(random_() % n); }
    bool chance(unsigned percent) { return below(100) < percent; }

    const std::string& host() {
        // Half the rules are for the first two hosts, as in a deployment with one main join URL.
        return chance(50) ? kHosts[below(2)] : kHosts[below(kHosts.size())];
    }

    std::string path(unsigned segments) {
        std::string out;
        for (unsigned i = 0; i < segments; ++i) out += "/" + kWords[below(kWords.size())];
        return out;
    }

    std::string method_for(const Rule& rule) {
        if (chance(80)) {  // usually a method the rule allows
            for (unsigned m = 0; m < kMethodCount; ++m)
                if ((rule.methods & method_bit(static_cast<Method>(m))) && chance(60))
                    return std::string(method_name(static_cast<Method>(m)));
            return "GET";
        }
        return std::string(method_name(static_cast<Method>(below(kMethodCount))));
    }

    static std::string upper_first(std::string host) {
        host[0] = static_cast<char>(host[0] - 'a' + 'A');
        return host;
    }

    std::mt19937_64 random_;
};

struct Percentiles {
    double median = 1e18;
    double p99 = 1e18;
};

// On a shared machine other processes only ever add time, so of several rounds the one with the
// lowest median is the closest to the code's own cost.
Percentiles better(const Percentiles& a, const Percentiles& b) {
    return b.median < a.median ? b : a;
}

Percentiles percentiles(std::vector<double>& samples, double overhead) {
    std::sort(samples.begin(), samples.end());
    const auto at = [&](double q) {
        const double v = samples[static_cast<std::size_t>(q * (samples.size() - 1))] - overhead;
        return std::max(v, 0.0);
    };
    return {at(0.5), at(0.99)};
}

// Times `operation(i)` kSamples times, cycling through the inputs, one clock pair per call.
template <typename Operation>
std::vector<double> time_each(std::size_t inputs, Operation&& operation) {
    std::vector<double> samples;
    samples.reserve(kSamples);
    for (std::size_t n = 0; n < kSamples; ++n) {
        const auto start = Clock::now();
        operation(n % inputs);
        const auto end = Clock::now();
        samples.push_back(std::chrono::duration<double, std::nano>(end - start).count());
    }
    return samples;
}

// The cost of the clock pair itself, subtracted from every percentile.
double clock_overhead() {
    std::vector<double> samples = time_each(1, [](std::size_t) {});
    std::sort(samples.begin(), samples.end());
    return samples[samples.size() / 2];
}

// Keeps a result alive so the optimiser cannot drop the work being timed (as Google
// Benchmark's DoNotOptimize does).
template <typename T>
void keep(const T& value) {
    asm volatile("" : : "r,m"(value) : "memory");
}

struct Row {
    std::size_t rules = 0;
    double compile_ms = 0;
    std::size_t accepted = 0;
    std::size_t allowed = 0;
    Percentiles normalize, check, both;
};

Row measure(std::size_t rule_count, double overhead) {
    Generator generator(20261125 + rule_count);
    RuleSet set = generator.rules(rule_count);
    std::vector<Head> heads;
    for (std::size_t i = 0; i < kRequests; ++i) heads.push_back(generator.request(set));

    Row row;
    row.rules = rule_count;
    const auto compile_start = Clock::now();
    const CompiledRules rules(std::move(set));
    row.compile_ms =
        std::chrono::duration<double, std::milli>(Clock::now() - compile_start).count();

    std::vector<NormalizedRequest> normalized;
    for (const Head& head : heads) {
        Normalized n = normalize(head.view());
        if (auto* request = std::get_if<NormalizedRequest>(&n)) {
            row.allowed += rules.check(*request).allowed;
            normalized.push_back(std::move(*request));
        }
    }
    row.accepted = normalized.size();

    for (std::size_t round = 0; round < kRounds; ++round) {  // interleaved, to share the noise
        auto normalize_samples = time_each(
            heads.size(), [&](std::size_t i) { keep(normalize(heads[i].view()).index()); });
        auto check_samples = time_each(
            normalized.size(), [&](std::size_t i) { keep(rules.check(normalized[i]).allowed); });
        auto both_samples = time_each(heads.size(), [&](std::size_t i) {
            const Normalized n = normalize(heads[i].view());
            if (const auto* request = std::get_if<NormalizedRequest>(&n))
                keep(rules.check(*request).allowed);
        });
        row.normalize = better(row.normalize, percentiles(normalize_samples, overhead));
        row.check = better(row.check, percentiles(check_samples, overhead));
        row.both = better(row.both, percentiles(both_samples, overhead));
    }
    return row;
}

}  // namespace

int main() {
    const double overhead = clock_overhead();
    std::printf(
        "allow-list matching: %zu request heads per rule set; each column is the best of %zu "
        "rounds of %zu timed calls; clock overhead %.0f ns subtracted\n\n",
        kRequests, kRounds, kSamples, overhead);
    std::printf(
        "| rules | compile | accepted / allowed | normalize median | normalize p99 "
        "| check median | check p99 | both median | both p99 |\n");
    std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (const std::size_t count : {10u, 1000u, 10000u}) {
        const Row row = measure(count, overhead);
        std::printf(
            "| %zu | %.1f ms | %.0f%% / %.0f%% | %.0f ns | %.0f ns | %.0f ns | %.0f ns "
            "| %.0f ns | %.0f ns |\n",
            row.rules, row.compile_ms, 100.0 * row.accepted / kRequests,
            100.0 * row.allowed / kRequests, row.normalize.median, row.normalize.p99,
            row.check.median, row.check.p99, row.both.median, row.both.p99);
    }
    return 0;
}
