// mail/refusal.hpp — why the mail engine will not (or cannot safely) work on a message.
//
// Contract: a Refusal is a typed, permanent verdict on one message, with a human reason for the
// log (no message content, no citizen address in it). The caller decides what to do with it:
// forward the original bytes untouched as an attachment, or quarantine them. MailResult<T> holds
// either a value or a Refusal, like util::Result but with the refusal kind the caller switches
// on. Bugs are not refusals: they abort. Plain values: thread-safe like any std::string.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

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
class [[nodiscard]] MailResult {
public:
    MailResult(T value) : v_(std::move(value)) {}
    MailResult(Refusal refusal) : v_(std::move(refusal)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & {
        assert(ok());
        return std::get<0>(v_);
    }
    const T& value() const& {
        assert(ok());
        return std::get<0>(v_);
    }
    T&& value() && {
        assert(ok());
        return std::get<0>(std::move(v_));
    }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const Refusal& refusal() const {
        assert(!ok());
        return std::get<1>(v_);
    }

private:
    std::variant<T, Refusal> v_;
};

}  // namespace referent::mail
