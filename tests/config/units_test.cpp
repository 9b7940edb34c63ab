// tests/config/units_test.cpp — the scalar grammars: counts, sizes, durations, dates, and the
// formatting used in range messages. Table-driven got/want.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "config/units.hpp"

namespace referent::config {
namespace {

struct Row {
    const char* text;
    std::uint64_t value;  // when reason is empty
    const char* reason;   // "" = accepted
};

void expect_rows(util::Result<std::uint64_t> (*parse)(std::string_view),
                 std::initializer_list<Row> rows) {
    for (const Row& row : rows) {
        const auto got = parse(row.text);
        if (*row.reason == '\0') {
            ASSERT_TRUE(got.ok()) << row.text << ": " << got.error().message;
            EXPECT_EQ(*got, row.value) << row.text;
        } else {
            ASSERT_FALSE(got.ok()) << row.text << " parsed as " << *got;
            EXPECT_EQ(got.error().message, row.reason) << row.text;
        }
    }
}

const char* kSizeUnits = "(units B, KiB, MiB, GiB or TiB)";

TEST(Units, Counts) {
    expect_rows(parse_count, {{"0", 0, ""},
                              {"100", 100, ""},
                              {"007", 7, ""},
                              {"18446744073709551615", UINT64_MAX, ""},
                              {"18446744073709551616", 0, "is too large"},
                              {"-1", 0, "must not be negative"},
                              {"+1", 0, "must be a whole number"},
                              {"1.0", 0, "must be a whole number"},
                              {"1e3", 0, "must be a whole number"},
                              {"0x10", 0, "must be a whole number"},
                              {"", 0, "must be a whole number"},
                              {" 1", 0, "must be a whole number"}});
}

TEST(Units, Sizes) {
    const std::string unknown = std::string("has an unknown unit \"MB\" ") + kSizeUnits;
    const std::string fraction =
        std::string("must be a whole number of units, without fractions ") + kSizeUnits;
    const std::string shape = std::string("must be written like 25MiB ") + kSizeUnits;
    expect_rows(parse_size,
                {{"512B", 512, ""},
                 {"4096", 4096, ""},
                 {"0", 0, ""},
                 {"256KiB", 256 * KiB, ""},
                 {"25MiB", 25 * MiB, ""},
                 {"1GiB", GiB, ""},
                 {"2TiB", 2 * TiB, ""},
                 {"16777215TiB", 16777215 * TiB, ""},
                 {"16777216TiB", 0, "is too large"},
                 {"25MB", 0, unknown.c_str()},
                 {"25mib", 0, "has an unknown unit \"mib\" (units B, KiB, MiB, GiB or TiB)"},
                 {"25 MiB", 0, "has an unknown unit \" MiB\" (units B, KiB, MiB, GiB or TiB)"},
                 {"1.5MiB", 0, fraction.c_str()},
                 {"1,5MiB", 0, fraction.c_str()},
                 {"-1MiB", 0, "must not be negative"},
                 {"+1MiB", 0, "must be written without a sign"},
                 {"MiB", 0, shape.c_str()},
                 {"", 0, shape.c_str()}});
}

TEST(Units, Durations) {
    expect_rows(parse_duration,
                {{"30s", 30, ""},
                 {"300", 300, ""},
                 {"5m", 300, ""},
                 {"1h", 3600, ""},
                 {"5d", 432000, ""},
                 {"0s", 0, ""},
                 {"5min", 0, "has an unknown unit \"min\" (units s, m, h or d)"},
                 {"1w", 0, "has an unknown unit \"w\" (units s, m, h or d)"},
                 {"1h30m", 0, "has an unknown unit \"h30m\" (units s, m, h or d)"},
                 {"1.5h", 0,
                  "must be a whole number of units, without fractions (units s, m, h "
                  "or d)"},
                 {"-5s", 0, "must not be negative"},
                 {"213503982334601d", 18446744073709526400u, ""},
                 {"213503982334602d", 0, "is too large"},
                 {"h", 0, "must be written like 5m (units s, m, h or d)"}});
}

TEST(Units, Dates) {
    struct DateRow {
        const char* text;
        Date want;
        const char* reason;
    };
    const char* unreal = "is not a real calendar date (years 1970 to 9999)";
    const char* shape = "must be a date written YYYY-MM-DD";
    for (const DateRow& row : std::initializer_list<DateRow>{{"2026-12-21", {2026, 12, 21}, ""},
                                                             {"2028-02-29", {2028, 2, 29}, ""},
                                                             {"2000-02-29", {2000, 2, 29}, ""},
                                                             {"1970-01-01", {1970, 1, 1}, ""},
                                                             {"9999-12-31", {9999, 12, 31}, ""},
                                                             {"2100-02-29", {}, unreal},
                                                             {"2027-02-29", {}, unreal},
                                                             {"2026-04-31", {}, unreal},
                                                             {"2026-13-01", {}, unreal},
                                                             {"2026-00-10", {}, unreal},
                                                             {"2026-01-00", {}, unreal},
                                                             {"1969-12-31", {}, unreal},
                                                             {"2026-1-01", {}, shape},
                                                             {"21/12/2026", {}, shape},
                                                             {"2026-12-21T00:00", {}, shape},
                                                             {"2026-+1-01", {}, shape}}) {
        const auto got = parse_date(row.text);
        if (*row.reason == '\0') {
            ASSERT_TRUE(got.ok()) << row.text << ": " << got.error().message;
            EXPECT_EQ(*got, row.want) << row.text;
        } else {
            ASSERT_FALSE(got.ok()) << row.text;
            EXPECT_EQ(got.error().message, row.reason) << row.text;
        }
    }
}

TEST(Units, FormatUsesTheLargestExactUnit) {
    EXPECT_EQ(format_size(0), "0B");
    EXPECT_EQ(format_size(1023), "1023B");
    EXPECT_EQ(format_size(KiB), "1KiB");
    EXPECT_EQ(format_size(25 * MiB), "25MiB");
    EXPECT_EQ(format_size(2 * GiB), "2GiB");
    EXPECT_EQ(format_size(TiB), "1TiB");
    EXPECT_EQ(format_size(TiB + KiB), "1073741825KiB");
    EXPECT_EQ(format_duration(0), "0s");
    EXPECT_EQ(format_duration(90), "90s");
    EXPECT_EQ(format_duration(3600), "1h");
    EXPECT_EQ(format_duration(7 * 86400), "7d");
    EXPECT_EQ(format_date(Date{2027, 1, 3}), "2027-01-03");
}

}  // namespace
}  // namespace referent::config
