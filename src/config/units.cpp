// config/units.cpp — see units.hpp.
#include "config/units.hpp"

#include "config/cat.hpp"

#include <array>
#include <cstdio>
#include <limits>

namespace referent::config {

namespace {

using util::Error;

struct Unit {
    std::string_view name;
    std::uint64_t factor;
};

constexpr std::array<Unit, 5> kSizeUnits{
    {{"B", 1}, {"KiB", KiB}, {"MiB", MiB}, {"GiB", GiB}, {"TiB", TiB}}};
constexpr std::array<Unit, 4> kDurationUnits{{{"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}}};

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// Digits only; the empty string and overflow are errors with their own reasons.
util::Result<std::uint64_t> digits_value(std::string_view digits) {
    if (digits.empty()) return Error::permanent("must be a whole number");
    std::uint64_t value = 0;
    constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
    for (char c : digits) {
        if (!is_digit(c)) return Error::permanent("must be a whole number");
        const auto d = static_cast<std::uint64_t>(c - '0');
        if (value > (kMax - d) / 10) return Error::permanent("is too large");
        value = value * 10 + d;
    }
    return value;
}

template <std::size_t N>
std::string unit_list(const std::array<Unit, N>& units) {
    std::string out;
    for (std::size_t i = 0; i < N; ++i) {
        if (i > 0) out += i + 1 == N ? " or " : ", ";
        out += units[i].name;
    }
    return out;
}

// A number followed by an optional unit; a bare number uses units[0].
template <std::size_t N>
util::Result<std::uint64_t> with_unit(std::string_view text, const std::array<Unit, N>& units,
                                      std::string_view example) {
    const std::string kinds = cat("(units ", unit_list(units), ")");
    if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
        if (text[0] == '-') return Error::permanent("must not be negative");
        return Error::permanent("must be written without a sign");
    }
    std::size_t n = 0;
    while (n < text.size() && is_digit(text[n])) ++n;
    if (n == 0) return Error::permanent(cat("must be written like ", example, " ", kinds));
    const std::string_view unit = text.substr(n);
    if (!unit.empty() && (unit[0] == '.' || unit[0] == ','))
        return Error::permanent(cat("must be a whole number of units, without fractions ", kinds));
    std::uint64_t factor = 0;
    for (const Unit& u : units)
        if (unit.empty() ? u.factor == units[0].factor : u.name == unit) factor = u.factor;
    if (factor == 0) return Error::permanent(cat("has an unknown unit \"", unit, "\" ", kinds));
    auto value = digits_value(text.substr(0, n));
    if (!value) return value;
    if (*value > std::numeric_limits<std::uint64_t>::max() / factor)
        return Error::permanent("is too large");
    return *value * factor;
}

template <std::size_t N>
std::string format_with(std::uint64_t value, const std::array<Unit, N>& units) {
    for (std::size_t i = N; i-- > 1;)
        if (value != 0 && value % units[i].factor == 0)
            return std::to_string(value / units[i].factor) + std::string(units[i].name);
    return std::to_string(value) + std::string(units[0].name);
}

bool leap(int year) {
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

unsigned days_in(int year, unsigned month) {
    constexpr std::array<unsigned, 12> kDays{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && leap(year) ? 29 : kDays[month - 1];
}

}  // namespace

util::Result<std::uint64_t> parse_count(std::string_view text) {
    if (!text.empty() && text[0] == '-') return Error::permanent("must not be negative");
    return digits_value(text);
}

util::Result<std::uint64_t> parse_size(std::string_view text) {
    return with_unit(text, kSizeUnits, "25MiB");
}

util::Result<std::uint64_t> parse_duration(std::string_view text) {
    return with_unit(text, kDurationUnits, "5m");
}

util::Result<Date> parse_date(std::string_view text) {
    const auto bad = Error::permanent("must be a date written YYYY-MM-DD");
    if (text.size() != 10 || text[4] != '-' || text[7] != '-') return bad;
    auto y = digits_value(text.substr(0, 4));
    auto m = digits_value(text.substr(5, 2));
    auto d = digits_value(text.substr(8, 2));
    if (!y || !m || !d) return bad;
    Date date{static_cast<int>(*y), static_cast<unsigned>(*m), static_cast<unsigned>(*d)};
    if (date.year < 1970 || date.month < 1 || date.month > 12 || date.day < 1 ||
        date.day > days_in(date.year, date.month))
        return Error::permanent("is not a real calendar date (years 1970 to 9999)");
    return date;
}

std::string format_size(std::uint64_t octets) {
    return format_with(octets, kSizeUnits);
}

std::string format_duration(std::uint64_t seconds) {
    return format_with(seconds, kDurationUnits);
}

std::string format_date(const Date& date) {
    char buf[40];  // room for any int, so -Wformat-truncation has nothing to say
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", date.year, date.month, date.day);
    return buf;
}

}  // namespace referent::config
