#include "relay/outbound_check.hpp"

#include <cstring>
#include <string>

#include "util/cat.hpp"

namespace referent::relay {

namespace {

bool unsafe_in_address(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f || c == '<' || c == '>';
}

std::optional<std::size_t> unsafe_octet(std::string_view address) {
    for (std::size_t i = 0; i < address.size(); ++i)
        if (unsafe_in_address(address[i])) return i;
    return std::nullopt;
}

DeliveryResult refused(std::string why) {
    return {Outcome::permanent, util::cat("refused before sending: ", why)};
}

}  // namespace

// The first CR not followed by LF, and the first LF not preceded by CR: the earlier of the two
// is the first line end that is not a CRLF. One memchr pass per character (find_first_of with
// two characters would test every octet against both).
std::optional<std::size_t> bare_line_end(std::string_view bytes) {
    const char* const begin = bytes.data();
    const char* const end = begin + bytes.size();
    std::optional<std::size_t> first;
    for (const char* p = begin; p < end;) {
        const auto* cr =
            static_cast<const char*>(std::memchr(p, '\r', static_cast<std::size_t>(end - p)));
        if (cr == nullptr) break;
        if (cr + 1 == end || cr[1] != '\n') {
            first = static_cast<std::size_t>(cr - begin);
            break;
        }
        p = cr + 2;
    }
    const char* const lf_end = first ? begin + *first : end;  // no need to look past it
    for (const char* p = begin; p < lf_end;) {
        const auto* lf =
            static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(lf_end - p)));
        if (lf == nullptr) break;
        if (lf == begin || lf[-1] != '\r') return static_cast<std::size_t>(lf - begin);
        p = lf + 1;
    }
    return first;
}

std::optional<DeliveryResult> refusal(const OutboundMessage& m) {
    if (auto at = bare_line_end(m.bytes)) {
        const char* what = m.bytes[*at] == '\n' ? "bare LF" : "bare CR";
        return refused(util::cat(what, " at octet ", std::to_string(*at),
                                 " (the message must have CRLF line ends)"));
    }
    if (m.rcpt.empty()) return refused("no recipient");
    if (auto at = unsafe_octet(m.rcpt))
        return refused(util::cat("octet ", std::to_string(*at),
                                 " of the recipient address is not allowed in SMTP"));
    if (auto at = unsafe_octet(m.mail_from))
        return refused(util::cat("octet ", std::to_string(*at),
                                 " of the sender address is not allowed in SMTP"));
    return std::nullopt;
}

}  // namespace referent::relay
