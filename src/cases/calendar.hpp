// cases/calendar.hpp — working days and due dates (CRPA: answers are due in working days).
//
// Contract: pure functions over civil dates (std::chrono::year_month_day, proleptic Gregorian).
// Working days are Monday to Friday minus public holidays. Holidays::fr is the French
// metropolitan list: 1 January, Easter Monday, 1 May, 8 May, Ascension Thursday, Whit Monday,
// 14 July, 15 August, 1 November, 11 November, 25 December (Easter by the Gregorian computus,
// valid for every year of the calendar). Holidays::none: weekends only.
// The due date of a message received on day D is the n-th working day after D (D itself is
// not counted, whatever its kind), so a request on Friday with n = 1 is due on Monday.
// Converting an instant to a civil date is the caller's business (local_date()).
// Errors: every date passed in must be ok(); an impossible date (30 February) is a caller's
// bug and aborts. Dates stay within std::chrono::year (-32767 to 32767).
// Thread-safety: pure, thread-safe. local_date() reads the zone through localtime_r, which
// loads TZ once per process: a process that changes TZ calls tzset() afterwards.
#pragma once

#include <chrono>
#include <string_view>

namespace referent::cases {

enum class Holidays { none, fr };

// "fr" → fr, "none" → none (config values; anything else is a bug: config validates it).
Holidays holidays_from(std::string_view name);

std::chrono::year_month_day easter_sunday(std::chrono::year y);
bool is_public_holiday(std::chrono::year_month_day day, Holidays holidays);
bool is_working_day(std::chrono::year_month_day day, Holidays holidays);
std::chrono::year_month_day add_working_days(std::chrono::year_month_day from, unsigned n,
                                             Holidays holidays);
// Working days strictly after `from` up to and including `to` (0 when to <= from).
unsigned working_days_between(std::chrono::year_month_day from, std::chrono::year_month_day to,
                              Holidays holidays);

// The civil date of an instant in the process's time zone (TZ, /etc/localtime), as the
// administration's calendar is local.
std::chrono::year_month_day local_date(std::chrono::system_clock::time_point t);

// The instant a local day begins (midnight in the process's zone, DST resolved).
std::chrono::system_clock::time_point local_midnight(std::chrono::year_month_day day);

// The time from `a` to `b` that falls on working days (local days, whole days: a request
// sent on Friday evening and answered on Monday morning took the Friday evening and the
// Monday morning), in hours; 0 when b <= a. The first-response statistics.
double working_hours_between(std::chrono::system_clock::time_point a,
                             std::chrono::system_clock::time_point b, Holidays holidays);

}  // namespace referent::cases
