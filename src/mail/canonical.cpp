// Line-ending canonicalisation, header value checks and the RFC 5322 date.
#include "mail/canonical.hpp"

#include <array>
#include <cstdio>
#include <cstring>

namespace referent::mail {

// Line by line (memchr finds the LFs, then the lone CRs of each line), copying runs of octets.
std::string canonical_crlf(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size() + bytes.size() / 32);
    const char* p = bytes.data();
    const char* const end = p + bytes.size();
    while (p < end) {
        const auto* found =
            static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
        const char* const lf = found ? found : end;
        // The line's own CR (before its LF) is written with the LF; any other CR ends a line.
        const char* const line_end = lf < end && lf > p && lf[-1] == '\r' ? lf - 1 : lf;
        const char* s = p;
        while (const auto* cr = static_cast<const char*>(
                   std::memchr(s, '\r', static_cast<std::size_t>(line_end - s)))) {
            out.append(s, static_cast<std::size_t>(cr - s)).append("\r\n");
            s = cr + 1;
        }
        out.append(s, static_cast<std::size_t>(line_end - s));
        if (lf == end) break;
        out.append("\r\n");
        p = lf + 1;
    }
    return out;
}

std::string canonical_lf(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size());
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        if (bytes[i] == '\r') {
            out += '\n';
            if (i + 1 < bytes.size() && bytes[i + 1] == '\n') ++i;
        } else {
            out += bytes[i];
        }
    }
    return out;
}

bool header_value_safe(std::string_view value) {
    return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

std::string rfc5322_date(std::chrono::system_clock::time_point t) {
    using namespace std::chrono;
    static constexpr std::array<const char*, 7> days{"Sun", "Mon", "Tue", "Wed",
                                                     "Thu", "Fri", "Sat"};
    static constexpr std::array<const char*, 12> months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const auto secs = floor<seconds>(t);
    const auto day = floor<std::chrono::days>(secs);
    const year_month_day ymd{day};
    const weekday wd{day};
    const hh_mm_ss hms{secs - day};
    std::array<char, 64> buf{};
    std::snprintf(buf.data(), buf.size(), "%s, %02u %s %04d %02ld:%02ld:%02ld +0000",
                  days[wd.c_encoding()], static_cast<unsigned>(ymd.day()),
                  months[static_cast<unsigned>(ymd.month()) - 1], static_cast<int>(ymd.year()),
                  static_cast<long>(hms.hours().count()), static_cast<long>(hms.minutes().count()),
                  static_cast<long>(hms.seconds().count()));
    return buf.data();
}

}  // namespace referent::mail
