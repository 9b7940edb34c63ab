#include "smtp/received.hpp"

#include <ctime>

namespace referent::smtp {

std::string rfc5322_date(std::chrono::system_clock::time_point when) {
    std::time_t t = std::chrono::system_clock::to_time_t(when);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    static const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday],
                  tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                  tm.tm_sec);
    return buf;
}

std::string protocol_keyword(bool lmtp, bool esmtp, bool tls, bool smtputf8) {
    std::string p;
    if (lmtp)
        p = smtputf8 ? "UTF8LMTP" : "LMTP";
    else if (smtputf8)
        p = "UTF8SMTP";
    else
        p = esmtp ? "ESMTP" : "SMTP";
    if (tls) p += 'S';
    return p;
}

std::string format_received(const ReceivedInfo& info) {
    // RFC 5321 §4.1.3: an IPv6 address literal is tagged "IPv6:".
    const bool v6 = info.client_ip.find(':') != std::string::npos;
    std::string h =
        "Received: from " + info.helo + " ([" + (v6 ? "IPv6:" : "") + info.client_ip + "])\r\n";
    h += "\tby " + info.by_host + " (Referent) with " + info.protocol + " id " + info.id;
    if (!info.for_recipient.empty()) h += "\r\n\tfor <" + info.for_recipient + ">";
    h += "; " + rfc5322_date(info.when) + "\r\n";
    return h;
}

}  // namespace referent::smtp
