#include "util/log.hpp"

#include <unistd.h>

#include <atomic>
#include <string>

namespace referent::util {

namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::info)};
std::atomic<bool> g_prefix{false};

const char* level_name(LogLevel l) {
    switch (l) {
        case LogLevel::debug:
            return "debug";
        case LogLevel::info:
            return "info";
        case LogLevel::warning:
            return "warning";
        case LogLevel::error:
            return "error";
    }
    return "?";
}

const char* syslog_prefix(LogLevel l) {
    switch (l) {
        case LogLevel::debug:
            return "<7>";
        case LogLevel::info:
            return "<6>";
        case LogLevel::warning:
            return "<4>";
        case LogLevel::error:
            return "<3>";
    }
    return "<6>";
}
}  // namespace

void set_log_level(LogLevel level) {
    g_level.store(static_cast<int>(level));
}
LogLevel log_level() {
    return static_cast<LogLevel>(g_level.load());
}
void set_log_priority_prefix(bool enabled) {
    g_prefix.store(enabled);
}

void log(LogLevel level, std::string_view component, std::string_view message) {
    if (static_cast<int>(level) < g_level.load()) return;
    std::string line;
    line.reserve(message.size() + component.size() + 16);
    if (g_prefix.load()) line += syslog_prefix(level);
    line += level_name(level);
    line += ' ';
    line += component;
    line += ": ";
    // A log line is one line: control characters from peers are shown escaped.
    for (char c : message) {
        if (c == '\n')
            line += "\\n";
        else if (c == '\r')
            line += "\\r";
        else if (c == '\0')
            line += "\\0";
        else
            line += c;
    }
    line += '\n';
    const char* p = line.data();
    std::size_t left = line.size();
    while (left > 0) {
        ssize_t n = ::write(STDERR_FILENO, p, left);
        if (n <= 0) return;
        p += n;
        left -= static_cast<std::size_t>(n);
    }
}

}  // namespace referent::util
