// mail/message.hpp — a parsed email message: the only door to GMime 3 (message*.cpp).
//
// Contract:
//  - init() initialises GMime once; call it from main before any thread. Calling it again is
//    harmless, and parse() calls it too, so tests need not.
//  - parse() first holds the raw bytes to ParseLimits without parsing them (mime_bounds.hpp):
//    size, every header block, MIME depth and part count; past a bound it returns a Refusal
//    and GMime never sees the bytes. Then GMime parses with the gateway's own options; any
//    GMIME_CRIT_* warning (content may have been dropped) marks the message damaged, and so do
//    the scan's findings. A damaged message can still be read and classified but must never
//    be rewritten: refuse_rewrite() says so, with the reason, and the caller forwards the
//    original bytes as an attachment or quarantines them. No header block at all: no_header.
//  - Header values come back in two forms. raw_*(): the bytes as written, unfolded (the line
//    breaks of folding removed), trimmed. header(), subject(), PartInfo::filename: decoded
//    (RFC 2047 words, RFC 2231 parameters, raw 8-bit as UTF-8 or else windows-1252; words
//    labelled iso-8859-1 or us-ascii are read as windows-1252, their usual true charset), valid
//    UTF-8, and never holding CR, LF or NUL (each becomes a space, vector E4): safe to log or
//    to copy into a header the gateway writes.
//  - from() refuses (bad_from) zero or several From headers and any value that is not exactly
//    one RFC 5322 mailbox (mailbox.hpp, vectors E5, F2). The identity is the addr-spec; the
//    display name is for display only (F1).
//  - parts() lists every MIME entity in document order, the message body first, containers
//    included, without recursion. content() and text() decode on demand.
// Errors: refusals above; nothing throws (GMime does not, std::bad_alloc aside).
// Thread-safety: a Message belongs to one thread at a time (GObjects are not thread-safe);
// different Messages may be used on different threads at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mail/mime_bounds.hpp"
#include "mail/refusal.hpp"

namespace referent::mail {

void init();

struct Mailbox {
    std::string display_name;  // decoded, may be empty; never an identity
    std::string address;       // addr-spec as written: local-part@domain
    std::string domain() const;
};

struct HeaderField {
    std::string name;   // as written
    std::string value;  // raw, unfolded, trimmed
};

struct PartInfo {
    std::size_t parent = npos;  // index in parts(), npos for the message body
    std::uint32_t depth = 0;    // 0 = the message body (mime_bounds.hpp)
    std::string content_type;   // "type/subtype", lower-case
    std::vector<std::pair<std::string, std::string>> parameters;  // decoded; names lower-case
    std::string charset;               // declared charset parameter, lower-case, may be empty
    std::string disposition;           // "attachment", "inline" or "" (lower-case)
    std::string filename;              // decoded and sanitised, may be empty
    bool container = false;            // multipart/* or an encapsulated message
    bool attachment = false;           // Content-Disposition: attachment
    bool in_attached_message = false;  // inside message/rfc822: not the sender's own text

    static constexpr std::size_t npos = static_cast<std::size_t>(-1);
    std::string parameter(std::string_view name) const;  // "" when absent
};

struct TextBody {
    std::string text;  // UTF-8
    bool html = false;
};

class Message {
public:
    Message(Message&&) noexcept;
    Message& operator=(Message&&) noexcept;
    ~Message();

    // Damage: GMIME_CRIT_* warnings and scan findings, one human line each.
    bool damaged() const;
    const std::vector<std::string>& damage() const;
    std::optional<Refusal> refuse_rewrite() const;

    // Top-level header fields.
    std::vector<HeaderField> header_fields() const;
    std::size_t header_count(std::string_view name) const;
    std::optional<std::string> raw_header(std::string_view name) const;  // the first
    std::vector<std::string> raw_headers(std::string_view name) const;   // all, in order
    std::optional<std::string> header(std::string_view name) const;      // the first, decoded

    MailResult<Mailbox> from() const;
    std::string subject() const;                   // decoded; "" when absent
    std::string message_id() const;                // without angle brackets; "" when absent
    std::vector<std::string> in_reply_to() const;  // msg-ids without angle brackets
    std::vector<std::string> references() const;

    // MIME structure.
    const std::vector<PartInfo>& parts() const;
    // A leaf: its bytes after transfer decoding (no charset conversion). An encapsulated
    // message: the message as GMime writes it (headers verbatim). A multipart: "".
    std::string content(std::size_t part) const;
    // The preamble of a multipart (the text before its first delimiter), "" otherwise.
    std::string preamble(std::size_t part) const;
    // A text/* leaf decoded to UTF-8 (windows-1252 relabel, invalid bytes replaced).
    std::optional<std::string> text(std::size_t part) const;
    // The sender's own text: the first text/plain part that is neither an attachment nor
    // inside an attached message, else the first such text/html part.
    std::optional<TextBody> body_text() const;

    struct Impl;  // message_impl.hpp, for the other message*.cpp files only

private:
    explicit Message(std::unique_ptr<Impl> impl);
    friend MailResult<Message> parse(std::string_view bytes, const ParseLimits& limits);
    friend Impl& impl_of(Message& m);
    friend const Impl& impl_of(const Message& m);
    std::unique_ptr<Impl> impl_;
};

[[nodiscard]] MailResult<Message> parse(std::string_view bytes, const ParseLimits& limits);

}  // namespace referent::mail
