#include "smtp/data_decoder.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>

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

// The decoder as it was written first, octet by octet, kept as the oracle for the one that
// copies runs of text at once: same octets stored, same size, same problem, same octets
// consumed, for any input, any split of it and any bounds.
class OctetDecoder {
public:
    OctetDecoder(std::uint64_t max_size, std::uint64_t max_header)
        : max_size_(max_size), max_header_(max_header) {}

    std::size_t feed(std::string_view in) {
        std::size_t i = 0;
        while (i < in.size() && state_ != 5) {
            const char c = in[i++];
            switch (state_) {
                case 2:  // beginning of a line
                    if (c == '.') {
                        state_ = 3;
                        break;
                    }
                    [[fallthrough]];
                case 0:  // text
                    if (c == '\r') {
                        state_ = 1;
                    } else {
                        if (c == '\n') bare_ = true;
                        emit_char(c);
                        state_ = 0;
                    }
                    break;
                case 1:  // after CR
                    if (c == '\n') {
                        if (line_empty_) in_header_ = false;
                        emit('\r');
                        emit('\n');
                        line_empty_ = true;
                        state_ = 2;
                    } else {
                        bare_cr();
                        --i;  // the octet after the CR is text again
                    }
                    break;
                case 3:  // a dot at the beginning of a line
                    if (c == '\r') {
                        state_ = 4;
                    } else {
                        state_ = 0;
                        --i;
                    }
                    break;
                case 4:  // ".\r"
                    if (c == '\n') {
                        state_ = 5;
                    } else {
                        bare_cr();
                        --i;
                    }
                    break;
            }
        }
        return i;
    }

    bool done() const { return state_ == 5; }
    DataDecoder::Problem problem() const {
        if (too_large_) return DataDecoder::Problem::too_large;
        if (header_too_large_) return DataDecoder::Problem::header_too_large;
        if (bare_) return DataDecoder::Problem::bare_line_ending;
        return DataDecoder::Problem::none;
    }
    std::uint64_t size() const { return size_; }
    const std::string& data() const { return data_; }

private:
    void emit(char c) {
        ++size_;
        if (in_header_ && ++header_size_ > max_header_) header_too_large_ = true;
        if (size_ > max_size_) too_large_ = true;
        if (!too_large_ && !header_too_large_) data_.push_back(c);
    }
    void emit_char(char c) {
        line_empty_ = false;
        emit(c);
    }
    // A CR not followed by LF: kept as text, and noted.
    void bare_cr() {
        bare_ = true;
        emit_char('\r');
        state_ = 0;
    }

    std::uint64_t max_size_, max_header_;
    std::string data_;
    std::uint64_t size_ = 0, header_size_ = 0;
    int state_ = 2;
    bool in_header_ = true, line_empty_ = true, too_large_ = false, header_too_large_ = false,
         bare_ = false;
};

TEST(DataDecoder, RunsOfTextGiveWhatOctetByOctetGives) {
    std::mt19937 rng(20261129);
    const std::string alphabet = std::string("ab.\r\n\r\n:  x") + '\0';
    for (int round = 0; round < 20000; ++round) {
        std::string in;
        const std::size_t len = rng() % 200;
        for (std::size_t k = 0; k < len; ++k) {
            // Mostly text, with line endings, dots and bare CR/LF among it.
            in.push_back(rng() % 3 == 0 ? alphabet[rng() % alphabet.size()]
                                        : static_cast<char>('c' + rng() % 20));
        }
        if (rng() % 2) in += "\r\n.\r\nQUIT\r\n";
        const std::uint64_t max = rng() % 4 == 0 ? rng() % 64 : 1 << 20;
        const std::uint64_t header = rng() % 4 == 0 ? rng() % 32 : 1 << 20;
        DataDecoder fast(max, header);
        OctetDecoder slow(max, header);
        std::size_t at = 0, fast_used = 0, slow_used = 0;
        while (at < in.size() && !fast.done()) {  // the same random split for both
            const std::size_t piece = std::min<std::size_t>(in.size() - at, 1 + rng() % 40);
            const std::string_view part = std::string_view(in).substr(at, piece);
            const std::size_t f = fast.feed(part);
            const std::size_t s = slow.feed(part);
            ASSERT_EQ(f, s) << "consumed, round " << round;
            fast_used += f;
            slow_used += s;
            at += piece;
        }
        ASSERT_EQ(fast.done(), slow.done()) << round;
        ASSERT_EQ(fast.problem(), slow.problem()) << round;
        ASSERT_EQ(fast.size(), slow.size()) << round;
        ASSERT_EQ(fast.stored(), slow.data()) << round;
        ASSERT_EQ(fast_used, slow_used);
    }
}
