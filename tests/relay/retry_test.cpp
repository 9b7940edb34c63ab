// tests/relay/retry_test.cpp — the retry schedule: which interval for which attempt, the
// jitter's bounds, determinism under a sequence of "random" bytes, and the end of the road.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "relay/retry.hpp"

namespace referent::relay::test {
namespace {

using std::chrono::seconds;

// Every byte the same: 0x00 gives the low end of the jitter.
class ConstantRandom final : public util::Random {
public:
    explicit ConstantRandom(std::uint8_t b) : b_(b) {}
    void bytes(std::span<std::uint8_t> out) override { std::memset(out.data(), b_, out.size()); }

private:
    std::uint8_t b_;
};

config::Relay relay_with(std::vector<seconds> retry, seconds lifetime = seconds{5 * 86400}) {
    config::Relay r;
    r.retry = std::move(retry);
    r.max_queue_lifetime = lifetime;
    return r;
}

// Intervals under 10 s carry no jitter (a tenth of them is under a second): exact.
TEST(Retry, IntervalForEachAttemptThenTheLastOneRepeats) {
    const config::Relay relay = relay_with({seconds{2}, seconds{5}, seconds{9}});
    util::SystemRandom random;
    struct Row {
        std::uint32_t attempts;
        seconds want;
    };
    for (const Row& row : {Row{0, seconds{2}},  // nothing failed yet: read as the first
                           Row{1, seconds{2}}, Row{2, seconds{5}}, Row{3, seconds{9}},
                           Row{6, seconds{9}}, Row{4'000'000'000u, seconds{9}}})
        EXPECT_EQ(next_attempt(relay, row.attempts, seconds{0}, random), row.want) << row.attempts;
}

TEST(Retry, DefaultScheduleWithinTenPercent) {
    const config::Relay relay;  // 1m 5m 15m 30m 1h
    util::SystemRandom random;
    struct Row {
        std::uint32_t attempts;
        std::int64_t base;
    };
    for (const Row& row :
         {Row{1, 60}, Row{2, 300}, Row{3, 900}, Row{4, 1800}, Row{5, 3600}, Row{8, 3600}}) {
        std::int64_t low = row.base, high = row.base, sum = 0;
        constexpr int kDraws = 10'000;
        for (int i = 0; i < kDraws; ++i) {
            const auto d = next_attempt(relay, row.attempts, seconds{0}, random);
            ASSERT_TRUE(d.has_value());
            low = std::min(low, d->count());
            high = std::max(high, d->count());
            sum += d->count();
        }
        EXPECT_EQ(low, row.base - row.base / 10) << row.attempts;  // both ends are reached
        EXPECT_EQ(high, row.base + row.base / 10) << row.attempts;
        EXPECT_NEAR(static_cast<double>(sum) / kDraws, static_cast<double>(row.base),
                    static_cast<double>(row.base) * 0.01)
            << row.attempts;
    }
}

TEST(Retry, DeterministicUnderASequenceRandom) {
    const config::Relay relay;
    util::SequenceRandom a;
    util::SequenceRandom b;
    std::vector<std::int64_t> got;
    for (std::uint32_t attempt : {1u, 1u, 1u, 2u, 3u, 5u}) {
        const auto da = next_attempt(relay, attempt, seconds{0}, a);
        const auto db = next_attempt(relay, attempt, seconds{0}, b);
        ASSERT_TRUE(da && db);
        EXPECT_EQ(*da, *db);
        got.push_back(da->count());
    }
    // Draws are 8 bytes big-endian: 0x0001020304050607, 0x08090a0b0c0d0e0f, ...
    EXPECT_EQ(got, (std::vector<std::int64_t>{64, 66, 55, 300 - 30 + 0x18191a1b1c1d1e1fll % 61,
                                              900 - 90 + 0x2021222324252627ll % 181,
                                              3600 - 360 + 0x28292a2b2c2d2e2fll % 721}));
}

TEST(Retry, NothingPastTheQueueLifetime) {
    const config::Relay relay = relay_with({seconds{60}}, seconds{3600});
    ConstantRandom low(0x00);                                            // 60 s - 10% = 54 s
    EXPECT_EQ(next_attempt(relay, 1, seconds{3546}, low), seconds{54});  // lands at 3600: kept
    EXPECT_EQ(next_attempt(relay, 1, seconds{3547}, low), std::nullopt);
    EXPECT_EQ(next_attempt(relay, 9, seconds{3600}, low), std::nullopt);
    EXPECT_EQ(next_attempt(relay, 1, seconds{7200}, low), std::nullopt);
}

TEST(Retry, AnEmptyScheduleNeverRetries) {
    util::SequenceRandom random;
    EXPECT_EQ(next_attempt(relay_with({}), 1, seconds{0}, random), std::nullopt);
}

}  // namespace
}  // namespace referent::relay::test
