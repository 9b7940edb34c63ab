#include "cases/calendar.hpp"

#include <time.h>

#include <cstdlib>

namespace referent::cases {

namespace {

using std::chrono::days;
using std::chrono::sys_days;
using std::chrono::year_month_day;

// Civil dates outside the calendar (30 February, year out of range) are a caller's bug.
sys_days checked(year_month_day day) {
    if (!day.ok()) std::abort();
    return sys_days{day};
}

// Gregorian Easter dates repeat every 5,700,000 years; shifting by that cycle keeps the
// computus in positive years, where the truncating '/' and '%' below are the algorithm's.
constexpr long easter_cycle = 5'700'000;

bool is_fixed_holiday(std::chrono::month_day md) {
    using namespace std::chrono;
    static constexpr month_day fixed[] = {
        January / 1, May / 1,      May / 8,       July / 14,
        August / 15, November / 1, November / 11, December / 25,
    };
    for (const month_day& f : fixed)
        if (f == md) return true;
    return false;
}

}  // namespace

Holidays holidays_from(std::string_view name) {
    if (name == "fr") return Holidays::fr;
    if (name == "none") return Holidays::none;
    std::abort();  // config::load admits only these two
}

// The anonymous Gregorian algorithm (Meeus, "Astronomical Algorithms", ch. 8).
year_month_day easter_sunday(std::chrono::year y) {
    const long year = static_cast<long>(static_cast<int>(y)) + easter_cycle;
    const long a = year % 19;
    const long b = year / 100;
    const long c = year % 100;
    const long d = b / 4;
    const long e = b % 4;
    const long f = (b + 8) / 25;
    const long g = (b - f + 1) / 3;
    const long h = (19 * a + b - d - g + 15) % 30;
    const long i = c / 4;
    const long k = c % 4;
    const long l = (32 + 2 * e + 2 * i - h - k) % 7;
    const long m = (a + 11 * h + 22 * l) / 451;
    const long n = h + l - 7 * m + 114;
    return year_month_day{y, std::chrono::month{static_cast<unsigned>(n / 31)},
                          std::chrono::day{static_cast<unsigned>(n % 31 + 1)}};
}

bool is_public_holiday(year_month_day day, Holidays holidays) {
    const sys_days d = checked(day);
    if (holidays == Holidays::none) return false;
    if (is_fixed_holiday(std::chrono::month_day{day.month(), day.day()})) return true;
    const sys_days easter{easter_sunday(day.year())};
    // Easter Monday, Ascension Thursday, Whit Monday.
    return d == easter + days{1} || d == easter + days{39} || d == easter + days{50};
}

bool is_working_day(year_month_day day, Holidays holidays) {
    const std::chrono::weekday wd{checked(day)};
    if (wd == std::chrono::Saturday || wd == std::chrono::Sunday) return false;
    return !is_public_holiday(day, holidays);
}

year_month_day add_working_days(year_month_day from, unsigned n, Holidays holidays) {
    sys_days d = checked(from);
    while (n > 0) {
        d += days{1};
        if (is_working_day(year_month_day{d}, holidays)) --n;
    }
    return year_month_day{d};
}

unsigned working_days_between(year_month_day from, year_month_day to, Holidays holidays) {
    const sys_days end = checked(to);
    unsigned n = 0;
    for (sys_days d = checked(from) + days{1}; d <= end; d += days{1})
        if (is_working_day(year_month_day{d}, holidays)) ++n;
    return n;
}

year_month_day local_date(std::chrono::system_clock::time_point t) {
    // floor, not the truncation of to_time_t: half a second before the epoch is still 1969.
    const auto seconds = std::chrono::floor<std::chrono::seconds>(t).time_since_epoch();
    const time_t tt = static_cast<time_t>(seconds.count());
    struct tm tm {};
    if (localtime_r(&tt, &tm) == nullptr) std::abort();  // year beyond int: not a clock's time
    return year_month_day{std::chrono::year{tm.tm_year + 1900},
                          std::chrono::month{static_cast<unsigned>(tm.tm_mon + 1)},
                          std::chrono::day{static_cast<unsigned>(tm.tm_mday)}};
}

// mktime resolves the zone's offset and DST that day.
std::chrono::system_clock::time_point local_midnight(year_month_day d) {
    struct tm tm {};
    tm.tm_year = static_cast<int>(d.year()) - 1900;
    tm.tm_mon = static_cast<int>(static_cast<unsigned>(d.month())) - 1;
    tm.tm_mday = static_cast<int>(static_cast<unsigned>(d.day()));
    tm.tm_isdst = -1;
    return std::chrono::system_clock::from_time_t(mktime(&tm));
}

double working_hours_between(std::chrono::system_clock::time_point a,
                             std::chrono::system_clock::time_point b, Holidays holidays) {
    if (b <= a) return 0;
    std::chrono::duration<double> total{0};
    const sys_days last = checked(local_date(b));
    for (sys_days d = checked(local_date(a)); d <= last; d += days{1}) {
        const year_month_day day{d};
        if (!is_working_day(day, holidays)) continue;
        const auto start = std::max(a, local_midnight(day));
        const auto end = std::min(b, local_midnight(year_month_day{d + days{1}}));
        if (end > start) total += end - start;
    }
    return total.count() / 3600.0;
}

}  // namespace referent::cases
