// relay/outbound_check.hpp — internal to relay/: what every transport refuses before sending.
//
// Contract: refusal() returns a permanent DeliveryResult when the message must not leave at
// all, nullopt when it may: the bytes hold a bare CR or a bare LF (the caller hands pure CRLF
// text; sending anything else would let the next hop guess at line ends), there is no
// recipient, or an envelope address holds an octet that could end or split an SMTP command
// (CR, LF, NUL, another control character, '<' or '>'). The reply names the first
// offending octet by offset, never the address itself (it is personal data). Pure,
// thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "relay/transport.hpp"

namespace referent::relay {

// The offset of the first CR not followed by LF or LF not preceded by CR.
std::optional<std::size_t> bare_line_end(std::string_view bytes);

std::optional<DeliveryResult> refusal(const OutboundMessage& m);

}  // namespace referent::relay
