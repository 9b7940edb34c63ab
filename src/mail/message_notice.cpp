// The gateway's own messages: see notice.hpp.
#include "mail/notice.hpp"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <utility>
#include <vector>

#include "mail/ascii.hpp"
#include "mail/canonical.hpp"
#include "mail/headers.hpp"
#include "mail/message_render.hpp"
#include "mail/subject_tag.hpp"

namespace referent::mail {

namespace {

// "[<case>] <subject>" with exactly one tag: a value in the template subject (the citizen's
// own subject, "Re: [EC-…] suite") may already hold it. subject_tag.cpp's remove_tags() is
// private, hence this small copy of its rule: every copy out, spaces collapsed.
std::string notice_subject(std::string_view case_number, std::string_view subject) {
    const std::string tag = case_tag(case_number);
    std::string rest;
    for (std::size_t i = 0; i < subject.size();) {
        if (subject.size() - i >= tag.size() && iequals(subject.substr(i, tag.size()), tag)) {
            i += tag.size();
            continue;
        }
        const char c = subject[i++];
        if (is_wsp(c) && (rest.empty() || rest.back() == ' ')) continue;
        rest += is_wsp(c) ? ' ' : c;
    }
    return forward_subject(case_number, trim(rest));
}

bool auto_replied(TemplateName name) {
    return name == TemplateName::acknowledgement || name == TemplateName::absence;
}

MailResult<std::string> notice_headers(TemplateName name, const TemplateSet& templates,
                                       const TemplateContext& context, const NoticeInput& in) {
    const std::string& case_number = context.case_->number;
    HeaderWriter h;
    if (to_citizen(name)) {
        const std::string display = templates.display_name(context);
        h.mailbox("From", display, in.citizen_reply_address);
        h.mailbox("Reply-To", display, in.citizen_reply_address);
    } else {
        h.mailbox("From", in.sender.display_name, in.sender.address);
    }
    h.mailbox("To", in.recipient.display_name, in.recipient.address);
    h.text("Subject", notice_subject(case_number, templates.subject(name, context)));
    h.token("Date", rfc5322_date(in.date));
    h.msg_id("Message-ID", in.message_id_token + "@" + in.gateway_hostname);
    if (!in.thread_ids.empty()) {
        h.msg_ids("In-Reply-To", {in.thread_ids.back()});
        h.msg_ids("References", in.thread_ids);
    }
    h.token(headers::auto_submitted, auto_replied(name) ? "auto-replied" : "auto-generated");
    h.token(headers::auto_response_suppress, "All");
    h.token(headers::loop, in.gateway_hostname);
    h.token(headers::case_number, case_number);
    if (h.refusal()) return *h.refusal();
    return h.bytes();
}

// The parts of the new Message-ID are written as is by HeaderWriter::msg_id, which refuses
// only CR/LF/NUL and skips a malformed id: a notice without Message-ID would be worse.
bool valid_id_part(std::string_view s) {
    return !s.empty() && s.find_first_of("<>@ \t\"()[],;:\\") == std::string_view::npos;
}

}  // namespace

bool to_citizen(TemplateName name) {
    return name == TemplateName::acknowledgement || name == TemplateName::handover ||
           name == TemplateName::absence;
}

MailResult<std::string> notice(TemplateName name, const TemplateSet& templates,
                               const TemplateContext& context, const NoticeInput& in) {
    if (!has_subject(name) || !context.case_) std::abort();  // a caller's bug (notice.hpp)
    init();
    if (!header_value_safe(in.message_id_token) || !header_value_safe(in.gateway_hostname))
        return Refusal{render_refusal, "Message-ID value holds CR, LF or NUL"};
    if (!valid_id_part(in.message_id_token) || !valid_id_part(in.gateway_hostname))
        return Refusal{render_refusal, "Message-ID token or host name is not a dot-atom"};
    MailResult<std::string> header_block = notice_headers(name, templates, context, in);
    if (!header_block) return header_block.refusal();
    const std::string id = in.message_id_token + "@" + in.gateway_hostname;
    GPtr<GMimeMultipart> alt = new_multipart("alternative", boundary(id, 0));
    GPtr<GMimePart> text = new_text_part("plain", templates.text(name, context));
    GPtr<GMimePart> html = new_text_part("html", templates.html(name, context));
    g_mime_multipart_add(alt.get(), obj(text.get()));
    g_mime_multipart_add(alt.get(), obj(html.get()));
    return render(header_block.value(), obj(alt.get()));
}

}  // namespace referent::mail
