// smtp/command.hpp — parsing of one SMTP/LMTP command line (RFC 5321 §4.1, RFC 1870, RFC 6152,
// RFC 6531).
//
// Contract: parse_command() takes one line without its CRLF and splits the verb (matched
// case-insensitively) from its argument. parse_mail() / parse_rcpt() parse the arguments of
// MAIL and RCPT into a path and the ESMTP parameters this server announces (SIZE, BODY,
// SMTPUTF8); anything else is refused with the reply a client should see. Numbers are checked
// for overflow: SIZE has at most 20 digits and must fit in 64 bits. Pure, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "smtp/address.hpp"
#include "smtp/reply.hpp"

namespace referent::smtp {

enum class Verb {
    helo,
    ehlo,
    lhlo,
    mail,
    rcpt,
    data,
    rset,
    noop,
    quit,
    vrfy,
    expn,
    help,
    starttls,
    bdat,
    auth,
    unknown
};

struct Command {
    Verb verb = Verb::unknown;
    std::string_view argument;  // after the verb and its separating space(s); may be empty
};

Command parse_command(std::string_view line);

enum class Body { unspecified, seven_bit, eight_bit_mime };

struct MailArgs {
    Address from;
    std::optional<std::uint64_t> size;
    Body body = Body::unspecified;
    bool smtputf8 = false;
};

struct RcptArgs {
    Address to;
};

// Each returns the parsed arguments or the refusal reply (501, 553, 555).
struct MailParse {
    std::optional<MailArgs> args;
    Reply refusal;
};
struct RcptParse {
    std::optional<RcptArgs> args;
    Reply refusal;
};

MailParse parse_mail(std::string_view argument);
// `utf8`: the transaction declared SMTPUTF8, so non-ASCII recipients are allowed.
RcptParse parse_rcpt(std::string_view argument, bool utf8);

}  // namespace referent::smtp
