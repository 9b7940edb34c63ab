// smtp/address.hpp — the addresses of MAIL FROM and RCPT TO (RFC 5321 §4.1.2, RFC 6531).
//
// Contract: parse_path() takes the text after "FROM:" / "TO:" (starting at "<") and parses the
// path "<local@domain>"; `consumed` tells where the parameters begin. It returns the mailbox or
// the reason for refusal.
// Accepted: dot-atom and quoted-string local parts (≤ 64 octets), domains of letter-digit-hyphen
// labels (each ≤ 63, total ≤ 255) or address literals [IPv4] / [IPv6:...]; a source route
// "<@a,@b:x@y>" is accepted and ignored (RFC 5321 §4.1.1.3), each hop still checked as a domain.
// Non-ASCII octets are accepted only when `utf8` is set (the transaction declared SMTPUTF8), and
// must then be valid UTF-8.
// "<>" is accepted only when `allow_null`. Control characters (including CR, LF, NUL) are never
// accepted. Pure, thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "util/result.hpp"

namespace referent::smtp {

struct Address {
    std::string local;   // as written, quotes included when quoted
    std::string domain;  // as written; empty only for the null path
    bool is_null() const { return local.empty() && domain.empty(); }
    std::string to_string() const { return is_null() ? std::string() : local + "@" + domain; }
};

enum class AddressProblem { syntax, local_too_long, domain_too_long, non_ascii };

struct AddressError {
    AddressProblem problem;
    std::string detail;
};

struct ParsedPath {
    bool ok = false;
    Address address;
    std::size_t consumed = 0;  // octets of `text` up to and including '>'
    AddressError error{AddressProblem::syntax, {}};
};

ParsedPath parse_path(std::string_view text, bool allow_null, bool utf8);

// Case-insensitive ASCII comparison, for domains and service local parts.
bool iequals(std::string_view a, std::string_view b);

}  // namespace referent::smtp
