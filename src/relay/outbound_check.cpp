#include "relay/outbound_check.hpp"

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

std::optional<std::size_t> bare_line_end(std::string_view bytes) {
    for (std::size_t i = bytes.find_first_of("\r\n"); i != std::string_view::npos;
         i = bytes.find_first_of("\r\n", i + 1)) {
        if (bytes[i] == '\n') return i;  // a CRLF's LF is skipped below
        if (i + 1 == bytes.size() || bytes[i + 1] != '\n') return i;
        ++i;
    }
    return std::nullopt;
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
