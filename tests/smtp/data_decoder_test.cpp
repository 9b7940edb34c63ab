#include "smtp/data_decoder.hpp"

#include <gtest/gtest.h>

using referent::smtp::DataDecoder;

namespace {

struct Outcome {
    bool done;
    std::size_t consumed;
    DataDecoder::Problem problem;
    std::string data;
};

Outcome run(std::string_view in, std::uint64_t max = 1 << 20, std::uint64_t header = 1 << 20) {
    DataDecoder d(max, header);
    std::size_t n = d.feed(in);
    return {d.done(), n, d.problem(), d.take()};
}

TEST(DataDecoder, EndsOnlyAtCrlfDotCrlf) {
    auto o = run("a\r\n.\r\nMAIL");
    EXPECT_TRUE(o.done);
    EXPECT_EQ(o.consumed, 6u);
    EXPECT_EQ(o.data, "a\r\n");

    for (std::string_view fake : {"a\n.\nb", "a\r.\rb", "a\n.\r\nb", "a\r\n.\nb"}) {
        auto f = run(fake);
        EXPECT_FALSE(f.done) << fake;
        EXPECT_EQ(f.problem, DataDecoder::Problem::bare_line_ending) << fake;
    }
}

TEST(DataDecoder, Unstuffs) {
    EXPECT_EQ(run("..a\r\n..\r\n.\r\n").data, ".a\r\n.\r\n");
    EXPECT_EQ(run(".\r\n").data, "");
    EXPECT_TRUE(run(".\r\n").done);
}

TEST(DataDecoder, SizeBoundKeepsScanning) {
    auto at = run("1234567\r\n.\r\n", 9);
    EXPECT_EQ(at.problem, DataDecoder::Problem::none);
    auto past = run("12345678\r\n.\r\n", 9);
    EXPECT_TRUE(past.done);
    EXPECT_EQ(past.problem, DataDecoder::Problem::too_large);
    EXPECT_LE(past.data.size(), 9u);
}

TEST(DataDecoder, HeaderBound) {
    auto ok = run("A: 1\r\n\r\nbody body body\r\n.\r\n", 1 << 20, 6);
    EXPECT_EQ(ok.problem, DataDecoder::Problem::none);
    auto big = run("A: 12\r\n\r\nbody\r\n.\r\n", 1 << 20, 6);
    EXPECT_EQ(big.problem, DataDecoder::Problem::header_too_large);
}

TEST(DataDecoder, ByteAtATime) {
    std::string in = "Subject: x\r\n\r\n..dot\r\nline\r\n.\r\n";
    DataDecoder d(1 << 20, 1 << 20);
    for (char c : in) {
        ASSERT_FALSE(d.done());
        EXPECT_EQ(d.feed(std::string_view(&c, 1)), 1u);
    }
    EXPECT_TRUE(d.done());
    EXPECT_EQ(d.take(), "Subject: x\r\n\r\n.dot\r\nline\r\n");
}

}  // namespace
