// Rewrite the referent's reply for the citizen: see rewrite.hpp.
#include "mail/rewrite.hpp"

#include "mail/canonical.hpp"
#include "mail/headers.hpp"
#include "mail/html_edit.hpp"
#include "mail/message_render.hpp"
#include "mail/reply_text.hpp"
#include "mail/subject_tag.hpp"
#include "util/html.hpp"

namespace referent::mail {

namespace {

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
    if (from.empty()) return s;
    for (std::size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size())
        s.replace(p, from.size(), to);
    return s;
}

// The agent reply address never reaches the citizen; for anonymous agents, the service speaks,
// so the agent's name and mailbox leave no trace either.
std::string anonymise(std::string text, const RewriteInput& in, bool html) {
    const std::string& service = in.context.service.name;
    auto swap = [&](const std::string& from, const std::string& to) {
        if (from.empty()) return;
        text = replace_all(std::move(text), from, to);
        if (html)
            text = replace_all(std::move(text), util::html_escape(from), util::html_escape(to));
    };
    // The quoted attribution of the forward ("Élodie Marchand (EC-…) <token@agents…> a écrit")
    // then names the citizen with the citizen's own address.
    swap(in.agent_reply_address, in.citizen.address);
    if (!in.context.agent.anonymous) return text;
    swap(in.identity.address, in.citizen_reply_address);
    swap(in.identity.name, service);
    return text;
}

bool own_text(const PartInfo& p, std::string_view type) {
    return p.content_type == type && !p.attachment && !p.in_attached_message && !p.container;
}

struct Edit {
    std::optional<std::size_t> plain, html;
    std::vector<std::string> notes;
    bool plain_empty = true, html_empty = true;
};

// Texts are edited with LF line breaks only: a bare CR would otherwise keep a banner marker or
// a "#interne" note out of the strip steps, yet come out as a line break (found by fuzzing).
std::string edit_plain(const std::string& raw, const RewriteInput& in, Edit& e) {
    const std::string text = canonical_lf(raw);
    Stripped s = strip_text_notes(strip_text_banner(text, in.case_number));
    e.notes = s.notes;
    e.plain_empty = text_own_text_empty(s.text);
    std::string sig = in.templates->text(TemplateName::signature, in.context);
    return anonymise(append_text_signature(s.text, sig), in, false);
}

std::string edit_html(const std::string& raw, const RewriteInput& in, Edit& e) {
    const std::string html = canonical_lf(raw);
    Stripped s = strip_html_notes(strip_html_banner(html, in.case_number));
    if (e.notes.empty()) e.notes = s.notes;  // the plain alternative's notes come first
    e.html_empty = html_own_text_empty(s.text);
    std::string sig = in.templates->html(TemplateName::signature, in.context);
    return anonymise(relabel_meta_charset(insert_quote_aware(s.text, sig)), in, true);
}

std::optional<Refusal> edit_parts(const Message& msg, const std::vector<TreeEntry>& tree,
                                  const RewriteInput& in, Edit& e) {
    for (std::size_t i = 0; i < tree.size(); ++i) {
        const PartInfo& p = msg.parts()[i];
        GMimePart* part = as_part(tree[i].object);
        if (!part) continue;
        if (!e.plain && own_text(p, "text/plain")) {
            set_utf8_text(part, edit_plain(msg.text(i).value_or(""), in, e));
            e.plain = i;
        } else if (!e.html && own_text(p, "text/html")) {
            set_utf8_text(part, edit_html(msg.text(i).value_or(""), in, e));
            e.html = i;
        }
    }
    if (!e.plain && !e.html)
        return Refusal{RefusalKind::empty_reply, "the reply has no text of its own"};
    if (e.plain ? e.plain_empty : e.html_empty)
        return Refusal{RefusalKind::empty_reply,
                       "the reply is empty once banner, quotes and internal notes are removed"};
    return std::nullopt;
}

void reply_headers(HeaderWriter& h, const Message& msg, const RewriteInput& in) {
    const std::string display = in.templates->display_name(in.context);
    h.mailbox("From", display, in.citizen_reply_address);
    h.mailbox("Reply-To", display, in.citizen_reply_address);
    h.mailbox("To", in.citizen.display_name, in.citizen.address);
    h.text("Subject", reply_subject(in.case_number, msg.subject()));
    h.token("Date", rfc5322_date(in.date));
    h.msg_id("Message-ID", in.message_id);
    if (!in.citizen_message_ids.empty()) {
        h.msg_ids("In-Reply-To", {in.citizen_message_ids.back()});
        h.msg_ids("References", in.citizen_message_ids);
    }
    h.token(headers::case_number, in.case_number);
    h.token(headers::loop, in.gateway_hostname);
}

}  // namespace

MailResult<RewriteOutput> rewrite(const Message& msg, const RewriteInput& in) {
    if (auto refusal = msg.refuse_rewrite()) return *refusal;
    GPtr<GMimeMessage> clone = reparse(serialise(msg));
    std::vector<TreeEntry> tree = clone ? walk(clone.get()) : std::vector<TreeEntry>{};
    if (!clone || !same_shape(msg, tree))
        return Refusal{RefusalKind::damaged, "second reading of the reply differs from the first"};
    Edit e;
    if (auto refusal = edit_parts(msg, tree, in, e)) return *refusal;
    // Preambles and epilogues are text no client shows the agent, so nothing there was
    // reviewed, and a malformed delimiter can make one read back as a visible part (found by
    // fuzzing): the citizen's copy carries none.
    for (const TreeEntry& t : tree) {
        if (GMimeMultipart* mp = as_multipart(t.object)) {
            g_mime_multipart_set_prologue(mp, nullptr);
            g_mime_multipart_set_epilogue(mp, nullptr);
        }
    }
    HeaderWriter h;
    reply_headers(h, msg, in);
    if (h.refusal()) return *h.refusal();
    renew_boundaries(tree, in.message_id);
    GMimeObject* root = g_mime_message_get_mime_part(clone.get());
    std::string bytes = render(h.bytes(), root);
    if (!reads_back_as(bytes, root))
        return Refusal{RefusalKind::damaged, "the rewritten reply does not read back as built"};
    return RewriteOutput{std::move(bytes), std::move(e.notes)};
}

}  // namespace referent::mail
