// Forward a citizen's message to the referent: see forward.hpp.
#include "mail/forward.hpp"

#include "util/cat.hpp"

#include <array>

#include "mail/ascii.hpp"
#include "mail/canonical.hpp"
#include "mail/headers.hpp"
#include "mail/html_edit.hpp"
#include "mail/message_render.hpp"
#include "mail/subject_tag.hpp"

namespace referent::mail {

namespace {

// Headers of the citizen's message the agent's client must not act on, or that we write.
bool dropped(std::string_view name) {
    static constexpr std::array<std::string_view, 24> exact{"received",
                                                            "return-path",
                                                            "dkim-signature",
                                                            "authentication-results",
                                                            "received-spf",
                                                            "message-id",
                                                            "in-reply-to",
                                                            "references",
                                                            "reply-to",
                                                            "to",
                                                            "cc",
                                                            "bcc",
                                                            "sender",
                                                            "from",
                                                            "subject",
                                                            "date",
                                                            "mime-version",
                                                            "disposition-notification-to",
                                                            "return-receipt-to",
                                                            "auto-submitted",
                                                            "x-auto-response-suppress",
                                                            "precedence",
                                                            "domainkey-signature",
                                                            "x-original-date"};
    for (std::string_view e : exact)
        if (iequals(name, e)) return true;
    for (std::string_view p : {"arc-", "resent-", "list-", "x-referent-", "content-"})
        if (istarts_with(name, p)) return true;
    return false;
}

// A raw value as GMime kept it: folded lines must continue with a space or tab, and no NUL,
// so that writing it back cannot start a new header line.
bool safe_folded(std::string_view raw) {
    if (raw.find('\0') != std::string_view::npos) return false;
    std::string_view body = raw;
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.remove_suffix(1);
    for (std::size_t i = 0; i < body.size(); ++i) {
        if (body[i] != '\n' && body[i] != '\r') continue;
        std::size_t j = i;
        while (j < body.size() && (body[j] == '\r' || body[j] == '\n')) ++j;
        if (j < body.size() && !is_wsp(body[j])) return false;
        i = j;
    }
    return true;
}

std::string kept_headers(GMimeMessage* clone) {
    std::string out;
    GMimeHeaderList* list = g_mime_object_get_header_list(as_object(clone));
    int n = list ? g_mime_header_list_get_count(list) : 0;
    for (int i = 0; i < n; ++i) {
        GMimeHeader* h = g_mime_header_list_get_header_at(list, i);
        const char* name = g_mime_header_get_name(h);
        const char* raw = g_mime_header_get_raw_value(h);
        if (!name || !raw || dropped(name) || !safe_folded(raw)) continue;
        std::string value(raw);
        while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
        out.append(name).append(":").append(canonical_crlf(value)).append("\r\n");
    }
    return out;
}

std::string new_message_id(const ForwardInput& in) {
    return in.message_id_token + "@" + in.gateway_hostname;
}

void forward_headers(HeaderWriter& h, const ForwardInput& in, std::string_view subject) {
    const std::string& shown =
        in.citizen.display_name.empty() ? in.citizen.address : in.citizen.display_name;
    const std::string display = shown + " (" + in.case_number + ")";
    h.mailbox("From", display, in.agent_reply_address);
    h.mailbox("Reply-To", display, in.agent_reply_address);
    h.mailbox("To", "", in.referent_address);
    h.text("Subject", forward_subject(in.case_number, subject));
    h.token("Date", rfc5322_date(in.date));
    h.msg_id("Message-ID", new_message_id(in));
    if (!in.earlier_forward_ids.empty()) {
        h.msg_ids("In-Reply-To", {in.earlier_forward_ids.back()});
        h.msg_ids("References", in.earlier_forward_ids);
    }
    h.token(headers::case_number, in.case_number);
    h.token(headers::loop, in.gateway_hostname);
    h.token(headers::auto_response_suppress, "OOF, AutoReply");
}

struct Banner {
    std::string text;
    std::string html;
};

Banner banner(const ForwardInput& in) {
    return {in.templates->text(TemplateName::forward_banner, in.context),
            in.templates->html(TemplateName::forward_banner, in.context)};
}

bool own_text(const PartInfo& p, std::string_view type) {
    return p.content_type == type && !p.attachment && !p.in_attached_message && !p.container;
}

// Puts the banner atop the citizen's own text parts; false when there is none.
bool add_banners(const Message& msg, const std::vector<TreeEntry>& tree, const Banner& b) {
    bool plain_done = false, html_done = false;
    for (std::size_t i = 0; i < tree.size(); ++i) {
        const PartInfo& p = msg.parts()[i];
        GMimePart* part = as_part(tree[i].object);
        if (!part) continue;
        if (!plain_done && own_text(p, "text/plain")) {
            set_utf8_text(part, b.text + msg.text(i).value_or(""));
            plain_done = true;
        } else if (!html_done && own_text(p, "text/html")) {
            std::string html = insert_after_body_open(msg.text(i).value_or(""), b.html);
            set_utf8_text(part, relabel_meta_charset(html));
            html_done = true;
        }
    }
    return plain_done || html_done;
}

std::string html_document(const std::string& lang, const std::string& inner) {
    return "<!DOCTYPE html>\n<html lang=\"" + lang +
           "\">\n<head><meta charset=\"utf-8\"></head>\n<body>\n" + inner + "</body>\n</html>\n";
}

GPtr<GMimeMultipart> banner_alternative(const ForwardInput& in, const Banner& b,
                                        std::string_view note) {
    GPtr<GMimeMultipart> alt = new_multipart("alternative", boundary(new_message_id(in), 1));
    std::string text = b.text + std::string(note) + "\n";
    std::string html =
        html_document(in.templates->language(), b.html + "<p>" + std::string(note) + "</p>\n");
    GPtr<GMimePart> t = new_text_part("plain", text);
    GPtr<GMimePart> h = new_text_part("html", html);
    g_mime_multipart_add(alt.get(), obj(t.get()));
    g_mime_multipart_add(alt.get(), obj(h.get()));
    return alt;
}

// RFC 2046 §5.2.1: message/rfc822 is 7bit, 8bit or binary; only bytes that travel as 8bit
// over SMTP go in as such.
bool travels_as_8bit(std::string_view raw) {
    std::size_t line = 0;
    for (std::size_t i = 0; i < raw.size(); ++i) {
        char c = raw[i];
        if (c == '\0') return false;
        if (c == '\r') {
            if (i + 1 >= raw.size() || raw[i + 1] != '\n') return false;
            line = 0;
            ++i;
            continue;
        }
        if (c == '\n' || ++line > 998) return false;
    }
    return true;
}

GPtr<GMimePart> original_attachment(std::string_view raw, const char* filename = "original.eml") {
    const bool as_message = travels_as_8bit(raw);
    GPtr<GMimePart> part(as_message ? g_mime_part_new_with_type("message", "rfc822")
                                    : g_mime_part_new_with_type("application", "octet-stream"));
    GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(raw.data(), raw.size()));
    GPtr<GMimeDataWrapper> wrapper(
        g_mime_data_wrapper_new_with_stream(stream.get(), GMIME_CONTENT_ENCODING_DEFAULT));
    g_mime_part_set_content(part.get(), wrapper.get());
    bool high = false;
    for (char c : raw) high = high || static_cast<unsigned char>(c) >= 0x80;
    g_mime_part_set_content_encoding(part.get(), !as_message ? GMIME_CONTENT_ENCODING_BASE64
                                                 : high      ? GMIME_CONTENT_ENCODING_8BIT
                                                             : GMIME_CONTENT_ENCODING_7BIT);
    GPtr<GMimeContentDisposition> d(g_mime_content_disposition_parse(nullptr, "attachment"));
    g_mime_object_set_content_disposition(obj(part.get()), d.get());
    g_mime_part_set_filename(part.get(), filename);
    return part;
}

std::string_view wrapped_note(const std::string& language) {
    // Not a template on purpose: it must render even when the message could not be read.
    return language == "fr"
               ? "Le message de l\u2019usager n\u2019a pas pu \u00eatre mis en forme : il est "
                 "joint tel qu\u2019il a \u00e9t\u00e9 re\u00e7u."
               : "The citizen's message could not be rendered: it is attached as it was received.";
}

}  // namespace

MailResult<std::string> forward(const Message& msg, std::string_view raw, const ForwardInput& in) {
    if (auto refusal = msg.refuse_rewrite())
        return forward_wrapped(raw, in, refusal->reason, msg.subject());
    GPtr<GMimeMessage> clone = reparse(raw);
    std::vector<TreeEntry> tree = clone ? walk(clone.get()) : std::vector<TreeEntry>{};
    if (!clone || !same_shape(msg, tree))
        return forward_wrapped(raw, in, "second reading differs from the first", msg.subject());
    HeaderWriter h;
    forward_headers(h, in, msg.subject());
    if (auto date = msg.raw_header("Date"); date && header_value_safe(*date))
        h.token("X-Original-Date", *date);
    if (h.refusal()) return *h.refusal();
    const Banner b = banner(in);
    renew_boundaries(tree, new_message_id(in));
    GMimeObject* root = g_mime_message_get_mime_part(clone.get());
    GPtr<GMimeMultipart> wrapper;
    if (!add_banners(msg, tree, b)) {
        wrapper = new_multipart("mixed", boundary(new_message_id(in), 0));
        GPtr<GMimePart> t = new_text_part("plain", b.text);
        g_mime_multipart_add(wrapper.get(), obj(t.get()));
        g_mime_multipart_add(wrapper.get(), root);
        root = obj(wrapper.get());
    }
    std::string bytes = render(h.bytes() + kept_headers(clone.get()), root);
    if (!reads_back_as(bytes, root))
        return forward_wrapped(raw, in, "the forward does not read back as built", msg.subject());
    return bytes;
}

MailResult<std::string> forward_wrapped(std::string_view raw, const ForwardInput& in,
                                        std::string_view reason, std::string_view subject) {
    init();  // the one entry that can run before any parse(): GMime must be ready
    HeaderWriter h;
    forward_headers(h, in, subject);
    h.text("X-Referent-Wrapped", reason);
    if (h.refusal()) return *h.refusal();
    const Banner b = banner(in);
    GPtr<GMimeMultipart> mixed = new_multipart("mixed", boundary(new_message_id(in), 0));
    GPtr<GMimeMultipart> alt = banner_alternative(in, b, wrapped_note(in.templates->language()));
    GPtr<GMimePart> original = original_attachment(raw);
    g_mime_multipart_add(mixed.get(), obj(alt.get()));
    g_mime_multipart_add(mixed.get(), obj(original.get()));
    return render(h.bytes(), obj(mixed.get()));
}

MailResult<std::string> forward_history(const std::vector<std::string>& raws,
                                        const ForwardInput& in, std::string_view note,
                                        std::string_view subject) {
    init();
    HeaderWriter h;
    forward_headers(h, in, subject);
    if (h.refusal()) return *h.refusal();
    const Banner b = banner(in);
    GPtr<GMimeMultipart> mixed = new_multipart("mixed", boundary(new_message_id(in), 0));
    GPtr<GMimeMultipart> alt = banner_alternative(in, b, note);
    g_mime_multipart_add(mixed.get(), obj(alt.get()));
    for (std::size_t i = 0; i < raws.size(); ++i) {
        const std::string name = util::cat("message-", std::to_string(i + 1), ".eml");
        GPtr<GMimePart> part = original_attachment(raws[i], name.c_str());
        g_mime_multipart_add(mixed.get(), obj(part.get()));
    }
    return render(h.bytes(), obj(mixed.get()));
}

}  // namespace referent::mail
