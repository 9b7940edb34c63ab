// mail/message_render.hpp — PRIVATE to src/mail/message*.cpp: what the renderers (forward,
// rewrite, notices) share on the GMime side.
//
// Contract:
//  - HeaderWriter builds the header block the gateway writes, in the order calls are made.
//    Every value is checked for CR, LF and NUL first (vectors E1–E3): one bad value makes
//    refusal() non-empty and the block unusable. Mailboxes go through
//    internet_address_mailbox_new (quoted-string or RFC 2047 UTF-8 words, never raw specials,
//    vector E3); unstructured text is RFC 2047-encoded in UTF-8 when not ASCII; all is folded.
//  - reparse() gives a private, mutable copy of a message tree (the renderers never edit the
//    caller's Message). walk() lists a tree in the order of Message::parts().
//  - set_utf8_text() replaces a leaf's content by UTF-8 text, charset=utf-8, quoted-printable
//    when the text is mostly ASCII, base64 otherwise.
//  - render() = header block + MIME-Version + the root part as GMime writes it (CRLF), then
//    canonical_crlf(): the bytes to hand to the relay, not dot-stuffed (canonical.hpp).
//  - boundary() derives a multipart boundary from the new Message-ID: unique per message and
//    deterministic, so golden files hold no random bytes.
// Thread-safety: as Message.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mail/message_impl.hpp"

namespace referent::mail {

// What the renderers refuse when a value they would write into a header is unsafe: a bug or a
// configuration slip upstream, never the citizen's message being damaged.
inline constexpr RefusalKind render_refusal = RefusalKind::unsafe_value;

class HeaderWriter {
public:
    void mailbox(std::string_view name, std::string_view display, std::string_view address);
    void text(std::string_view name, std::string_view value);   // unstructured, UTF-8
    void token(std::string_view name, std::string_view ascii);  // written as is
    void msg_id(std::string_view name, std::string_view id);    // "<id>"
    void msg_ids(std::string_view name, const std::vector<std::string>& ids);

    const std::optional<Refusal>& refusal() const { return refusal_; }
    const std::string& bytes() const { return bytes_; }

private:
    bool check(std::string_view name, std::string_view value);
    void folded(const std::string& line, bool structured);

    std::string bytes_;
    std::optional<Refusal> refusal_;
};

struct TreeEntry {
    GMimeObject* object = nullptr;
    std::size_t parent = PartInfo::npos;
    bool in_message = false;
};

GPtr<GMimeMessage> reparse(std::string_view bytes);
std::string write_object(GMimeObject* object);  // as GMime writes it, CRLF
std::string serialise(const Message& message);  // the whole message as parsed
std::vector<TreeEntry> walk(GMimeMessage* message);
std::vector<TreeEntry> walk_object(GMimeObject* root);
// Gives every multipart of an edited copy (outside attached messages) a boundary of its own,
// "=_referent_<hash of seed>_<n>". Edited texts are re-encoded as quoted-printable or base64,
// and neither can hold "=_", so no line of an edited text can read as a delimiter (found by
// fuzzing: a bare CR that became a line break turned an old delimiter in the text into a real
// one, and the part after it escaped the edit).
void renew_boundaries(const std::vector<TreeEntry>& tree, std::string_view seed);
// The rendered bytes read back as the tree under `root` (parents and types): the last check
// before rendered bytes leave the mail engine.
bool reads_back_as(std::string_view bytes, GMimeObject* root);
// The copy has the tree the Message describes, part for part (same parents and types): only
// then may the renderers edit tree[i] on what parts()[i] says. A copy read from serialise()
// of a damaged message can come out with the same count and another shape (found by fuzzing).
bool same_shape(const Message& message, const std::vector<TreeEntry>& tree);

void set_utf8_text(GMimePart* part, std::string_view utf8);
GPtr<GMimePart> new_text_part(std::string_view subtype, std::string_view utf8);
GPtr<GMimeMultipart> new_multipart(std::string_view subtype, std::string boundary);
std::string boundary(std::string_view message_id, int index);

std::string render(std::string_view header_block, GMimeObject* root);

}  // namespace referent::mail
