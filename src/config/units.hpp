// config/units.hpp — the scalar grammars of the configuration: counts, sizes, durations, dates.
//
// Contract: each parser takes the text of one YAML scalar and returns the value, or a permanent
// Error whose message is the reason to show after "path: " (no position, no path). Nothing is
// guessed: no fractions, no signs, no spaces, no unknown units, no overflow, no unreal dates.
//   count     "100"                          decimal digits only
//   size      "25MiB" "256KiB" "1GiB" "512B" "4096"   units B, KiB, MiB, GiB, TiB; bare = octets
//   duration  "30s" "5m" "1h" "5d" "300"     units s, m, h, d; bare = seconds
//   date      "2026-12-21"                   a real Gregorian date, years 1970 to 9999
// The format_* functions write a value back in the largest unit that divides it exactly, for
// range messages ("must be between 1KiB and 2GiB"). Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "util/result.hpp"

namespace referent::config {

inline constexpr std::uint64_t KiB = 1ull << 10;
inline constexpr std::uint64_t MiB = 1ull << 20;
inline constexpr std::uint64_t GiB = 1ull << 30;
inline constexpr std::uint64_t TiB = 1ull << 40;

util::Result<std::uint64_t> parse_count(std::string_view text);
util::Result<std::uint64_t> parse_size(std::string_view text);
util::Result<std::uint64_t> parse_duration(std::string_view text);  // in seconds
util::Result<Date> parse_date(std::string_view text);

std::string format_size(std::uint64_t octets);
std::string format_duration(std::uint64_t seconds);
std::string format_date(const Date& date);

}  // namespace referent::config
