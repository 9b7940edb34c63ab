// util/metrics.hpp — the gateway's counters, gauges and histograms, for Prometheus.
//
// Contract: a Registry holds metric families by name; a family has a help text, a type and
// series told apart by their labels. counter()/gauge()/histogram() create a series on first use
// and return the same object for the same name and labels ever after (references stay valid
// for the registry's life), so hot paths look a series up once and keep it. A name reused with
// another type, or a name or label name outside Prometheus's grammar, throws
// std::invalid_argument: a programming error, caught by the tests. Updates are lock-free
// atomics, from any thread; lookups and render() take the registry's mutex. Sampled gauges
// call their function at render time (from the rendering thread). render() produces the text
// exposition format 0.0.4: families sorted by name, label values escaped (\\ \" \n).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace referent::util {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
public:
    void inc(std::uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
    std::uint64_t value() const { return v_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> v_{0};
};

class Gauge {
public:
    void set(std::int64_t v) { v_.store(v, std::memory_order_relaxed); }
    void add(std::int64_t n) { v_.fetch_add(n, std::memory_order_relaxed); }
    std::int64_t value() const { return v_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::int64_t> v_{0};
};

class Histogram {
public:
    explicit Histogram(std::vector<double> bounds);  // upper bounds, increasing; +Inf implied
    void observe(double v);
    struct Snapshot {
        std::vector<double> bounds;
        std::vector<std::uint64_t> cumulative;  // per bound, then +Inf (= count)
        double sum = 0;
    };
    Snapshot snapshot() const;

private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // bounds_.size() + 1
    std::atomic<double> sum_{0};
};

// Bucket bounds in seconds from 1 ms to 5 min: SMTP transactions, processing, delivery delay.
const std::vector<double>& latency_buckets();

class Registry {
public:
    Counter& counter(std::string_view name, std::string_view help, const Labels& labels = {});
    Gauge& gauge(std::string_view name, std::string_view help, const Labels& labels = {});
    Histogram& histogram(std::string_view name, std::string_view help,
                         const std::vector<double>& bounds, const Labels& labels = {});
    // A gauge family whose series are read at render time (queue depths, open cases).
    void sampled(std::string_view name, std::string_view help,
                 std::function<std::vector<std::pair<Labels, double>>()> sample);

    std::string render() const;

private:
    enum class Type { counter, gauge, histogram, sampled };
    struct Family {
        Type type;
        std::string help;
        std::map<Labels, std::unique_ptr<Counter>> counters;
        std::map<Labels, std::unique_ptr<Gauge>> gauges;
        std::map<Labels, std::unique_ptr<Histogram>> histograms;
        std::function<std::vector<std::pair<Labels, double>>()> sample;
    };
    Family& family(std::string_view name, std::string_view help, Type type, const Labels& labels);

    mutable std::mutex mu_;
    std::map<std::string, Family, std::less<>> families_;
};

}  // namespace referent::util
