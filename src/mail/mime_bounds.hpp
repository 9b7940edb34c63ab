// mail/mime_bounds.hpp — checks a raw message against the configured bounds before any parser
// sees it (vectors G of ../shared/vectors/README.md).
//
// Contract: scan_bounds() reads the bytes once, line by line, with an explicit stack of open
// multipart boundaries and no recursion, and stops at the first bound exceeded. Its cost is
// linear in the input whatever the nesting, the number of parts or the length of boundaries: a
// boundary delimiter line is looked up in a hash of the open boundaries, never compared with
// each of them. It mirrors how GMime 3.2 splits a message (checked against it on the vectors):
//  - an entity is a multipart when its last Content-Type says multipart/* with a boundary (the
//    last boundary parameter, RFC 2231 continuations included);
//  - message/rfc822, message/news and message/global encapsulate a message unless their
//    transfer encoding is base64, quoted-printable or uuencode (then GMime keeps them as leaves);
//    a part of multipart/digest without Content-Type is message/rfc822 (RFC 2046 §5.1.5);
//  - a delimiter is "--" boundary, a close delimiter "--" boundary "--", either followed only
//    by spaces or tabs; the innermost open boundary that matches wins, and a match of an outer
//    boundary closes every multipart opened inside it;
//  - a leading mbox "From " line is not part of the header block.
// Counting: the message's own body is one entity at depth 0; every part of a multipart is one
// entity one level below it, and so is the body of an encapsulated message. So N nested
// multiparts around one text part have depth N and N + 1 parts. Every header block (the
// message's, each part's, each encapsulated message's) is held to max_header_size: the octets
// of its lines with their line endings, the blank line that ends it excluded.
// Findings that do not stop parsing but mean GMime would lose content (a boundary longer than a
// line may be, RFC 5322 §2.1.1) are returned as damage. Pure function, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mail/refusal.hpp"

namespace referent::mail {

// Mirrors gateway.limits (config/config.hpp); defaults are the documented defaults.
struct ParseLimits {
    std::uint64_t max_message_size = 25ull << 20;
    std::uint64_t max_header_size = 256ull << 10;
    std::uint32_t max_mime_depth = 32;
    std::uint32_t max_mime_parts = 1000;
};

// Longest boundary whose delimiter line fits the 998-octet line limit of RFC 5322. RFC 2046
// allows 70; GMime copes up to about 4,000 and then silently drops every part.
inline constexpr std::size_t max_boundary_length = 996;

struct BoundsScan {
    std::optional<Refusal> refusal;   // the first bound exceeded, if any
    std::vector<std::string> damage;  // content GMime would lose; the message is not rewritable
    std::uint32_t depth = 0;          // deepest entity seen (0 = the message body)
    std::uint32_t parts = 0;          // entities seen, the message body included
    std::uint64_t header_size = 0;    // octets of the message's own header block
};

BoundsScan scan_bounds(std::string_view bytes, const ParseLimits& limits);

}  // namespace referent::mail
