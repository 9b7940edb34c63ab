// mail/mailbox.hpp — a strict reader of one RFC 5322 mailbox, for the From header.
//
// Contract: parse_mailbox() accepts exactly one `mailbox` (RFC 5322 §3.4): an addr-spec, or an
// optional display name followed by <addr-spec>, with comments and folding whitespace where
// the grammar allows them. It refuses rather than guesses: lists, groups, a missing or second
// angle address, stray brackets or parentheses, text after the address (vectors F2:
// `alice@example.org)<bob@example.com>`, `alice@example.org<<bob@example.com>`), CR, LF and
// NUL, and a domain literal holding anything but dtext (no space, no control octet).
// Tolerated, because real mail has them: UTF-8 in atoms (RFC 6532), unquoted dots in display
// names and local parts (obs-phrase, obs-local-part: "J. Doe", "a..b@" from some carriers),
// RFC 2047 words in the display name (returned undecoded: the caller decodes).
// Returns the raw display name (quotes removed, words joined by one space) and the addr-spec.
// Pure function, thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace referent::mail {

struct RawMailbox {
    std::string display_name;  // undecoded; "" when absent
    std::string local_part;    // as written (a quoted local part keeps its quotes)
    std::string domain;        // as written (a domain literal keeps its brackets)
};

std::optional<RawMailbox> parse_mailbox(std::string_view value);

}  // namespace referent::mail
