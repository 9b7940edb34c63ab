// tests/cases/calendar_test.cpp — Easter, the French holidays, due dates in working days and the
// local civil date. Dates are written and compared as ISO strings so a failure reads plainly.
#include <gtest/gtest.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>

#include "cases/calendar.hpp"

namespace referent::cases {
namespace {

using namespace std::chrono;

year_month_day date(const std::string& iso) {
    int y = 0;
    unsigned m = 0;
    unsigned d = 0;
    if (std::sscanf(iso.c_str(), "%d-%u-%u", &y, &m, &d) != 3) std::abort();  // a typo here
    const year_month_day ymd{year{y}, month{m}, day{d}};
    if (!ymd.ok()) std::abort();
    return ymd;
}

std::string iso(year_month_day d) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(d.year()),
                  static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
    return buf;
}

// Every day of [from, to].
template <typename F>
void each_day(const std::string& from, const std::string& to, F f) {
    for (sys_days d{date(from)}; d <= sys_days{date(to)}; d += days{1}) f(year_month_day{d});
}

TEST(CalendarWorkingHours, WeekendsAndHolidaysDoNotCount) {
    setenv("TZ", "Europe/Paris", 1);
    tzset();
    using std::chrono::hours;
    auto at = [](int y, unsigned m, unsigned d, int h) {  // local (CET: UTC+1 in these months)
        return std::chrono::sys_days{std::chrono::year{y} / std::chrono::month{m} /
                                     std::chrono::day{d}} +
               hours{h - 1};
    };
    const Holidays fr = Holidays::fr;
    EXPECT_DOUBLE_EQ(working_hours_between(at(2026, 3, 4, 10), at(2026, 3, 4, 13), fr), 3);
    EXPECT_DOUBLE_EQ(working_hours_between(at(2026, 3, 4, 13), at(2026, 3, 4, 10), fr), 0);
    // Friday 18:00 to Monday 09:00: six hours on Friday, nine on Monday.
    EXPECT_DOUBLE_EQ(working_hours_between(at(2026, 3, 6, 18), at(2026, 3, 9, 9), fr), 15);
    // Across Christmas (Friday 25 December 2026) and the weekend after it.
    EXPECT_DOUBLE_EQ(working_hours_between(at(2026, 12, 24, 12), at(2026, 12, 28, 12), fr),
                     12 + 12);
    EXPECT_DOUBLE_EQ(
        working_hours_between(at(2026, 12, 24, 12), at(2026, 12, 28, 12), Holidays::none),
        12 + 24 + 12);
}

TEST(CalendarEaster, KnownSundays) {
    struct Row {
        int year;
        const char* want;
    };
    const Row rows[] = {
        {2024, "2024-03-31"}, {2025, "2025-04-20"}, {2026, "2026-04-05"}, {2027, "2027-03-28"},
        {2000, "2000-04-23"}, {1583, "1583-04-10"},  // the first Easter of the Gregorian calendar
        {1818, "1818-03-22"},                        // earliest possible
        {2285, "2285-03-22"},                        // earliest possible
        {1943, "1943-04-25"},                        // latest possible
        {2038, "2038-04-25"},                        // latest possible
        {1981, "1981-04-19"},                        // Gauss's exception d = 29, e = 6
        {2076, "2076-04-19"},                        // Gauss's exception d = 29, e = 6
        {1954, "1954-04-18"},                        // Gauss's exception d = 28, e = 6
        {2049, "2049-04-18"},                        // Gauss's exception d = 28, e = 6
    };
    for (const Row& row : rows) EXPECT_EQ(iso(easter_sunday(year{row.year})), row.want) << row.year;
}

// Gauss's formulation of the same computus, written independently (with its two exceptions).
year_month_day gauss_easter(int y) {
    const int a = y % 19, b = y % 4, c = y % 7, k = y / 100;
    const int p = (13 + 8 * k) / 25, q = k / 4;
    const int m = (15 - p + k - q) % 30, n = (4 + k - q) % 7;
    const int d = (19 * a + m) % 30, e = (2 * b + 4 * c + 6 * d + n) % 7;
    if (d == 29 && e == 6) return year{y} / April / 19;
    if (d == 28 && e == 6 && (11 * m + 11) % 30 < 19) return year{y} / April / 18;
    return year_month_day{sys_days{year{y} / March / 22} + days{d + e}};
}

TEST(CalendarEaster, AgreesWithGaussFrom1583To32767) {
    for (int y = 1583; y <= 32767; ++y) {
        const year_month_day got = easter_sunday(year{y});
        ASSERT_EQ(iso(got), iso(gauss_easter(y))) << y;
    }
}

TEST(CalendarEaster, SundayBetween22MarchAnd25AprilInEveryYear) {
    for (int y = -32767; y <= 32767; ++y) {
        const year_month_day got = easter_sunday(year{y});
        ASSERT_TRUE(got.ok()) << y;
        ASSERT_EQ(weekday{sys_days{got}}, Sunday) << iso(got);
        ASSERT_GE(sys_days{got}, sys_days{year{y} / March / 22}) << iso(got);
        ASSERT_LE(sys_days{got}, sys_days{year{y} / April / 25}) << iso(got);
    }
}

TEST(CalendarHolidays, EveryHolidayOf2026AndNothingElse) {
    const std::set<std::string> want = {
        "2026-01-01",  // New Year's Day, Thursday
        "2026-04-06",  // Easter Monday
        "2026-05-01",  // Labour Day, Friday
        "2026-05-08",  // Victory in Europe Day, Friday
        "2026-05-14",  // Ascension Thursday
        "2026-05-25",  // Whit Monday
        "2026-07-14",  // Bastille Day, Tuesday
        "2026-08-15",  // Assumption, Saturday
        "2026-11-01",  // All Saints, Sunday
        "2026-11-11",  // Armistice, Wednesday
        "2026-12-25",  // Christmas, Friday
    };
    std::set<std::string> got;
    each_day("2026-01-01", "2026-12-31", [&](year_month_day d) {
        if (is_public_holiday(d, Holidays::fr)) got.insert(iso(d));
        EXPECT_FALSE(is_public_holiday(d, Holidays::none)) << iso(d);
    });
    EXPECT_EQ(got, want);
}

TEST(CalendarHolidays, MovingHolidaysFollowEaster) {
    // Easter 2024 was on 31 March: its Monday falls in April, Ascension in May.
    for (const char* d :
         {"2024-04-01", "2024-05-09", "2024-05-20", "2027-03-29", "2027-05-06", "2027-05-17"})
        EXPECT_TRUE(is_public_holiday(date(d), Holidays::fr)) << d;
    // Easter Sunday and Whit Sunday fall on Sundays anyway; Good Friday is Alsace-Moselle only.
    for (const char* d : {"2026-04-05", "2026-05-24", "2026-04-03", "2026-12-26"})
        EXPECT_FALSE(is_public_holiday(date(d), Holidays::fr)) << d;
}

TEST(CalendarWorkingDays, WeekendsAndHolidays) {
    struct Row {
        const char* day;
        bool fr;
        bool none;
    };
    const Row rows[] = {
        {"2026-03-06", true, true},    // Friday
        {"2026-03-07", false, false},  // Saturday
        {"2026-03-08", false, false},  // Sunday
        {"2026-03-09", true, true},    // Monday
        {"2026-04-06", false, true},   // Easter Monday
        {"2026-07-14", false, true},   // Tuesday
        {"2026-08-15", false, false},  // a Saturday and a holiday
    };
    for (const Row& row : rows) {
        EXPECT_EQ(is_working_day(date(row.day), Holidays::fr), row.fr) << row.day;
        EXPECT_EQ(is_working_day(date(row.day), Holidays::none), row.none) << row.day;
    }
}

TEST(CalendarWorkingDays, CountPerYear) {
    // 261 weekdays in 2026, 9 holidays on them; 261 in 2027, 7 holidays on them.
    EXPECT_EQ(working_days_between(date("2025-12-31"), date("2026-12-31"), Holidays::fr), 252u);
    EXPECT_EQ(working_days_between(date("2026-12-31"), date("2027-12-31"), Holidays::fr), 254u);
    EXPECT_EQ(working_days_between(date("2025-12-31"), date("2026-12-31"), Holidays::none), 261u);
}

TEST(CalendarDueDate, Table) {
    struct Row {
        const char* received;
        unsigned n;
        Holidays holidays;
        const char* due;
        const char* why;
    };
    const Holidays fr = Holidays::fr;
    const Holidays none = Holidays::none;
    const Row rows[] = {
        {"2026-03-02", 5, fr, "2026-03-09", "Monday + 5: next Monday"},
        {"2026-03-02", 1, fr, "2026-03-03", "Monday + 1: Tuesday"},
        {"2026-03-06", 1, fr, "2026-03-09", "Friday + 1: Monday"},
        {"2026-03-06", 5, fr, "2026-03-13", "Friday + 5: next Friday"},
        {"2026-03-07", 1, fr, "2026-03-09", "Saturday + 1: Monday"},
        {"2026-03-07", 5, fr, "2026-03-13", "Saturday + 5: Friday"},
        {"2026-03-08", 1, fr, "2026-03-09", "Sunday + 1: Monday"},
        {"2026-03-08", 5, fr, "2026-03-13", "Sunday + 5: Friday"},
        {"2026-07-13", 1, fr, "2026-07-15", "eve of 14 July + 1: Wednesday"},
        {"2026-07-14", 1, fr, "2026-07-15", "on 14 July + 1: Wednesday"},
        {"2026-11-10", 1, fr, "2026-11-12", "eve of 11 November + 1: Thursday"},
        {"2026-04-02", 2, fr, "2026-04-07", "Thursday + 2 across Easter Monday"},
        {"2026-04-03", 1, fr, "2026-04-07", "Friday + 1 across Easter Monday"},
        {"2026-04-02", 5, fr, "2026-04-10", "Thursday + 5 across Easter Monday"},
        {"2026-04-02", 2, none, "2026-04-06", "Thursday + 2, no holidays"},
        {"2026-05-13", 1, fr, "2026-05-15", "Wednesday + 1 across Ascension"},
        {"2026-05-13", 5, fr, "2026-05-21", "Wednesday + 5 across Ascension"},
        {"2026-05-13", 1, none, "2026-05-14", "Wednesday + 1, no holidays"},
        {"2026-05-22", 1, fr, "2026-05-26", "Friday + 1 across Whit Monday"},
        {"2026-04-30", 1, fr, "2026-05-04", "Thursday + 1 across 1 May"},
        {"2026-04-30", 5, fr, "2026-05-11", "Thursday + 5 across 1 and 8 May"},
        {"2026-05-07", 1, fr, "2026-05-11", "Thursday + 1 across 8 May"},
        {"2026-04-30", 5, none, "2026-05-07", "Thursday + 5, no holidays"},
        {"2026-12-24", 5, fr, "2027-01-04", "24 December + 5 across Christmas and New Year"},
        {"2026-12-24", 5, none, "2026-12-31", "24 December + 5, no holidays"},
        {"2026-12-31", 1, fr, "2027-01-04", "31 December + 1 across New Year"},
        {"2026-03-04", 0, fr, "2026-03-04", "n = 0 on a Wednesday: the day itself"},
        {"2026-03-08", 0, fr, "2026-03-08", "n = 0 on a Sunday: the day itself"},
        {"2026-04-06", 0, fr, "2026-04-06", "n = 0 on a holiday: the day itself"},
        {"2024-02-28", 1, fr, "2024-02-29", "leap day"},
        {"2026-03-02", 30, fr, "2026-04-14", "six weeks minus Easter Monday"},
    };
    for (const Row& row : rows) {
        const year_month_day got = add_working_days(date(row.received), row.n, row.holidays);
        EXPECT_EQ(iso(got), row.due) << row.why;
        EXPECT_EQ(working_days_between(date(row.received), got, row.holidays), row.n) << row.why;
    }
}

TEST(CalendarDueDate, BetweenIsZeroUnlessForward) {
    EXPECT_EQ(working_days_between(date("2026-03-04"), date("2026-03-04"), Holidays::fr), 0u);
    EXPECT_EQ(working_days_between(date("2026-03-05"), date("2026-03-04"), Holidays::fr), 0u);
    EXPECT_EQ(working_days_between(date("2027-01-01"), date("2026-01-01"), Holidays::fr), 0u);
    EXPECT_EQ(working_days_between(date("2026-03-06"), date("2026-03-08"), Holidays::fr), 0u);
    EXPECT_EQ(working_days_between(date("2026-03-06"), date("2026-03-09"), Holidays::fr), 1u);
}

TEST(CalendarDueDate, BetweenInvertsAddOverEveryDayOf2026And2027) {
    for (const Holidays h : {Holidays::fr, Holidays::none}) {
        each_day("2026-01-01", "2027-12-31", [&](year_month_day d) {
            for (unsigned n = 0; n <= 12; ++n) {
                const year_month_day due = add_working_days(d, n, h);
                ASSERT_EQ(working_days_between(d, due, h), n) << iso(d) << " + " << n;
                // The due date is a working day, and the day before it still misses one.
                if (n == 0) continue;
                ASSERT_TRUE(is_working_day(due, h)) << iso(d) << " + " << n;
                const year_month_day before{sys_days{due} - days{1}};
                ASSERT_EQ(working_days_between(d, before, h), n - 1) << iso(d) << " + " << n;
            }
        });
    }
}

TEST(CalendarConfig, HolidaysFromConfigValues) {
    EXPECT_EQ(holidays_from("fr"), Holidays::fr);
    EXPECT_EQ(holidays_from("none"), Holidays::none);
}

TEST(CalendarDeathTest, BugsAbort) {
    EXPECT_DEATH(holidays_from("de"), "");
    EXPECT_DEATH(is_working_day(year{2026} / February / 30, Holidays::fr), "");
    EXPECT_DEATH(add_working_days(year{2026} / April / 31, 1, Holidays::none), "");
}

// Sets TZ for one test and puts the previous value back.
class CalendarLocalDate : public ::testing::Test {
protected:
    void SetUp() override {
        if (const char* tz = std::getenv("TZ")) saved_ = tz;
    }
    void TearDown() override {
        if (saved_)
            ::setenv("TZ", saved_->c_str(), 1);
        else
            ::unsetenv("TZ");
        ::tzset();
    }
    static void zone(const char* tz) {
        ::setenv("TZ", tz, 1);
        ::tzset();
    }
    static std::string at(sys_seconds t) { return iso(local_date(system_clock::time_point{t})); }

private:
    std::optional<std::string> saved_;
};

// A POSIX rule rather than a tzdata name keeps the test independent of installed zones.
constexpr const char* kParis = "CET-1CEST,M3.5.0,M10.5.0/3";

TEST_F(CalendarLocalDate, ParisAroundMidnight) {
    zone(kParis);
    // Summer time (UTC+2): 22:30 UTC on 31 March is already 1 April in Paris.
    EXPECT_EQ(at(sys_days{2026y / March / 31} + 21h + 59min + 59s), "2026-03-31");
    EXPECT_EQ(at(sys_days{2026y / March / 31} + 22h), "2026-04-01");
    // Winter time (UTC+1).
    EXPECT_EQ(at(sys_days{2026y / December / 31} + 22h + 59min + 59s), "2026-12-31");
    EXPECT_EQ(at(sys_days{2026y / December / 31} + 23h), "2027-01-01");
}

TEST_F(CalendarLocalDate, Utc) {
    zone("UTC0");
    EXPECT_EQ(at(sys_days{2026y / April / 6}), "2026-04-06");
    EXPECT_EQ(at(sys_days{2026y / April / 6} + 23h + 59min + 59s), "2026-04-06");
    EXPECT_EQ(at(sys_days{2026y / April / 7}), "2026-04-07");
}

TEST_F(CalendarLocalDate, BeforeTheEpochRoundsDown) {
    zone("UTC0");
    const auto half_second_before = system_clock::time_point{} - 500ms;
    EXPECT_EQ(iso(local_date(half_second_before)), "1969-12-31");
    EXPECT_EQ(iso(local_date(system_clock::time_point{})), "1970-01-01");
}

}  // namespace
}  // namespace referent::cases
