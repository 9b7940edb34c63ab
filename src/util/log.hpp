// util/log.hpp — one line per state change, greppable, on stderr (journald under systemd).
//
// Contract: log(level, ...) writes one line "LEVEL component: message" atomically with respect
// to other log calls (one write(2) per line). Lines below the configured level are dropped.
// Under systemd the level is also emitted as a "<N>" prefix so journald keeps priorities.
// Thread-safe. Personal data (bodies, citizen addresses) is logged at debug level only.
#pragma once

#include <string_view>

namespace referent::util {

enum class LogLevel { debug = 0, info = 1, warning = 2, error = 3 };

void set_log_level(LogLevel level);
LogLevel log_level();
// Use "<N>" syslog priority prefixes (set when JOURNAL_STREAM is in the environment).
void set_log_priority_prefix(bool enabled);

void log(LogLevel level, std::string_view component, std::string_view message);

inline void log_debug(std::string_view c, std::string_view m) {
    log(LogLevel::debug, c, m);
}
inline void log_info(std::string_view c, std::string_view m) {
    log(LogLevel::info, c, m);
}
inline void log_warning(std::string_view c, std::string_view m) {
    log(LogLevel::warning, c, m);
}
inline void log_error(std::string_view c, std::string_view m) {
    log(LogLevel::error, c, m);
}

}  // namespace referent::util
