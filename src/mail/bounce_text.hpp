// mail/bounce_text.hpp — the heuristics that read bounces written for humans (Exim, Gmail,
// Office 365, Postfix without DSN…) when no delivery report says it in fields.
//
// Contract: pure functions over text; each returns "" (or nothing) rather than guess wildly:
//  - find_status_code: the first enhanced status code (RFC 3463, "5.1.1") whose class is one
//    of `classes`, standing alone (not inside an IP address or a longer dotted number);
//  - addresses_in: addr-spec-looking words (local@domain.tld), as written, at most `max`;
//  - first_recipient_in: the first address of the text, skipping lines shaped like header
//    fields (a quoted original's From:, To:, Message-ID:…), the addresses in `exclude` and
//    mailer-daemon / postmaster;
//  - diagnostic_line: the trimmed line holding `status`, else the first line holding an SMTP
//    reply code (4xx/5xx);
//  - quoted_message_id: the id of the first "Message-ID:" line (quoting "> " allowed);
//  - find_message_id: the first <id> of a value, else the value itself when it holds an "@";
//  - bounce_text: the bounce's own text (message.hpp body_text), HTML reduced to text; for
//    a multipart without any text part, its preamble (some MTAs put everything there).
// Thread-safe (bounce_text: as Message).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "mail/message.hpp"

namespace referent::mail {

std::string find_status_code(std::string_view text, std::string_view classes);
std::vector<std::string> addresses_in(std::string_view text, std::size_t max);
std::string first_recipient_in(std::string_view text, const std::vector<std::string>& exclude);
std::string diagnostic_line(std::string_view text, std::string_view status);
std::string quoted_message_id(std::string_view text);
std::string find_message_id(std::string_view value);
std::string html_to_text(std::string_view html);
std::string bounce_text(const Message& message);

}  // namespace referent::mail
