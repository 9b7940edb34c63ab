// The metrics registry: one series per name and labels, the text exposition format (HELP,
// TYPE, escaping, histogram buckets cumulative with +Inf, _sum and _count), sampled gauges,
// refusals of bad names and type changes, and increments from many threads.
#include "util/metrics.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>

namespace referent::util {
namespace {

TEST(Metrics, SameNameAndLabelsIsTheSameSeries) {
    Registry r;
    Counter& a = r.counter("referent_x_total", "X.", {{"role", "public"}});
    Counter& b = r.counter("referent_x_total", "X.", {{"role", "public"}});
    Counter& c = r.counter("referent_x_total", "X.", {{"role", "internal"}});
    EXPECT_EQ(&a, &b);
    EXPECT_NE(&a, &c);
    a.inc();
    b.inc(2);
    EXPECT_EQ(a.value(), 3u);
    EXPECT_EQ(c.value(), 0u);
}

TEST(Metrics, RendersTheTextFormat) {
    Registry r;
    r.counter("referent_b_total", "Bees.", {{"role", "public"}, {"class", "human"}}).inc(5);
    r.gauge("referent_a", "Line one\nback\\slash.").set(-3);
    r.counter("referent_c_total", "Escapes.", {{"why", "say \"no\"\\\n"}}).inc();
    EXPECT_EQ(r.render(),
              "# HELP referent_a Line one\\nback\\\\slash.\n"
              "# TYPE referent_a gauge\n"
              "referent_a -3\n"
              "# HELP referent_b_total Bees.\n"
              "# TYPE referent_b_total counter\n"
              "referent_b_total{role=\"public\",class=\"human\"} 5\n"
              "# HELP referent_c_total Escapes.\n"
              "# TYPE referent_c_total counter\n"
              "referent_c_total{why=\"say \\\"no\\\"\\\\\\n\"} 1\n");
}

TEST(Metrics, HistogramBucketsAreCumulativeWithInfSumAndCount) {
    Registry r;
    Histogram& h = r.histogram("referent_t_seconds", "T.", {0.1, 1}, {{"role", "public"}});
    h.observe(0.05);
    h.observe(0.1);  // on the bound: counted in it (le)
    h.observe(0.5);
    h.observe(7);
    EXPECT_EQ(r.render(),
              "# HELP referent_t_seconds T.\n"
              "# TYPE referent_t_seconds histogram\n"
              "referent_t_seconds_bucket{role=\"public\",le=\"0.1\"} 2\n"
              "referent_t_seconds_bucket{role=\"public\",le=\"1\"} 3\n"
              "referent_t_seconds_bucket{role=\"public\",le=\"+Inf\"} 4\n"
              "referent_t_seconds_sum{role=\"public\"} 7.65\n"
              "referent_t_seconds_count{role=\"public\"} 4\n");
}

TEST(Metrics, SampledGaugesAreReadAtRenderTime) {
    Registry r;
    double depth = 1;
    r.sampled("referent_queue_items", "Q.", [&depth] {
        return std::vector<std::pair<Labels, double>>{{{{"state", "waiting"}}, depth},
                                                      {{{"state", "deferred"}}, 0}};
    });
    depth = 4;
    EXPECT_EQ(r.render(),
              "# HELP referent_queue_items Q.\n"
              "# TYPE referent_queue_items gauge\n"
              "referent_queue_items{state=\"deferred\"} 0\n"
              "referent_queue_items{state=\"waiting\"} 4\n");
}

TEST(Metrics, BadNamesAndTypeChangesAreRefused) {
    Registry r;
    EXPECT_THROW(r.counter("", "x"), std::invalid_argument);
    EXPECT_THROW(r.counter("9lives", "x"), std::invalid_argument);
    EXPECT_THROW(r.counter("a-b", "x"), std::invalid_argument);
    EXPECT_THROW(r.counter("__reserved", "x"), std::invalid_argument);
    EXPECT_THROW(r.counter("ok", "x", {{"le", "1"}}), std::invalid_argument);
    EXPECT_THROW(r.counter("ok", "x", {{"a:b", "1"}}), std::invalid_argument);
    r.counter("referent_y_total", "Y.");
    EXPECT_THROW(r.gauge("referent_y_total", "Y."), std::invalid_argument);
    EXPECT_THROW(Histogram({1, 1}), std::invalid_argument);
    EXPECT_THROW(Histogram({2, 1}), std::invalid_argument);
}

TEST(Metrics, IncrementsFromManyThreadsAreAllCounted) {
    Registry r;
    Counter& c = r.counter("referent_z_total", "Z.");
    Histogram& h = r.histogram("referent_h_seconds", "H.", latency_buckets());
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 10000; ++i) {
                c.inc();
                h.observe(0.002);
            }
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(c.value(), 40000u);
    EXPECT_EQ(h.snapshot().cumulative.back(), 40000u);
    EXPECT_NEAR(h.snapshot().sum, 80.0, 1e-6);
}

}  // namespace
}  // namespace referent::util
