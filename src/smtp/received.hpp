// smtp/received.hpp — the trace header the gateway prepends to each accepted message.
//
// Contract: format_received() returns a complete "Received:" header field (RFC 5321 §4.4, with
// the protocol names of RFC 3848), folded, ending in CRLF. Every input must be free of CR, LF
// and NUL (the session only accepts such HELO arguments and addresses). The recipient is named
// only when there is exactly one, so the header never lists who else received the message.
// Pure, thread-safe.
#pragma once

#include <chrono>
#include <string>

namespace referent::smtp {

struct ReceivedInfo {
    std::string helo;
    std::string client_ip;  // textual IP address, no port
    std::string by_host;
    std::string protocol;  // SMTP, ESMTP, ESMTPS, LMTP, LMTPS, UTF8SMTP, UTF8SMTPS …
    std::string id;
    std::string for_recipient;  // empty: omitted
    std::chrono::system_clock::time_point when;
};

std::string format_received(const ReceivedInfo& info);

// RFC 5322 date-time in UTC: "Sat, 28 Nov 2026 13:45:00 +0000".
std::string rfc5322_date(std::chrono::system_clock::time_point when);

// RFC 3848 protocol keyword for a transaction.
std::string protocol_keyword(bool lmtp, bool esmtp, bool tls, bool smtputf8);

}  // namespace referent::smtp
