// mail/refusal.hpp — why the mail engine will not (or cannot safely) work on a message.
//
// Contract: a Refusal is a typed, permanent verdict on one message, with a human reason for the
// log (no message content, no citizen address in it). The caller decides what to do with it:
// forward the original bytes untouched as an attachment, or quarantine them. MailResult<T> is
// util::Expected<T, Refusal>: a value or a Refusal, whose kind the caller switches on. Bugs are not refusals: they abort. Plain values: thread-safe like any std::string.
#pragma once

#include <string>
#include <string_view>

#include "util/result.hpp"

namespace referent::mail {

enum class RefusalKind {
    too_large,         // the message is over gateway.limits.max_message_size
    header_too_large,  // a header block is over gateway.limits.max_header_size
    too_deep,          // MIME nesting over gateway.limits.max_mime_depth
    too_many_parts,    // MIME entities over gateway.limits.max_mime_parts
    no_header,         // no header block at all: not a message
    damaged,           // the parser reported lost content (GMIME_CRIT_*): never rewrite it
    bad_from,          // zero or several From headers, or a From that is not one mailbox
    unsafe_value,      // a value to be written into a header holds CR, LF, NUL or is no address
    empty_reply,       // an agent's reply with no text of its own once banner and quotes go
};

std::string_view to_string(RefusalKind kind);

struct Refusal {
    RefusalKind kind = RefusalKind::damaged;
    std::string reason;
};

template <class T>
class [[nodiscard]] MailResult : public util::Expected<T, Refusal> {
public:
    using util::Expected<T, Refusal>::Expected;
    const Refusal& refusal() const { return this->error(); }
};

}  // namespace referent::mail
