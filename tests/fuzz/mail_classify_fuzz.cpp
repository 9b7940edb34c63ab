// libFuzzer target: arbitrary bytes as a message, through parse → every accessor → classify.
// Checks the promises the pipeline relies on: the bounds hold on what GMime built, every
// decoded value is valid UTF-8 without CR, LF or NUL (vector E4), a refusal always says why,
// and only a bounce carries a bounce report, whose fields are clean and bounded.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mail/classify.hpp"
#include "mail/message.hpp"
#include "mail/utf8.hpp"

namespace {

using namespace referent::mail;

void check(bool ok) {
    if (!ok) std::abort();
}

void check_clean(const std::string& s, std::size_t max = std::string::npos) {
    check(s.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos);
    check(is_valid_utf8(s));
    check(s.size() <= max);
}

ParseLimits small_limits() {
    ParseLimits l;
    l.max_message_size = 1 << 20;
    l.max_header_size = 16 << 10;
    l.max_mime_depth = 16;
    l.max_mime_parts = 200;
    return l;
}

ClassifyConfig gateway() {
    ClassifyConfig c;
    c.loop_token = "referent.example.gov";
    c.message_id_domain = "referent.example.gov";
    c.own_addresses = {"service@example.gov"};
    c.own_domains = {"referent.example.gov"};
    return c;
}

void check_message(const Message& m, const ParseLimits& limits) {
    check(m.parts().size() <= limits.max_mime_parts);
    for (std::size_t i = 0; i < m.parts().size(); ++i) {
        const PartInfo& p = m.parts()[i];
        check(p.depth <= limits.max_mime_depth);
        check(i == 0 ? p.parent == PartInfo::npos : p.parent < i);
        check_clean(p.filename);
        if (std::optional<std::string> text = m.text(i)) check(is_valid_utf8(*text));
        (void)m.content(i);
    }
    check_clean(m.subject());
    check_clean(m.message_id());
    for (const std::string& id : m.references()) check_clean(id);
    if (std::optional<std::string> to = m.header("To")) check_clean(*to);
    MailResult<Mailbox> from = m.from();
    if (from) {
        check_clean(from->display_name);
        check_clean(from->address);
        check(from->address.find('@') != std::string::npos);
    } else {
        check(from.refusal().kind == RefusalKind::bad_from);
    }
    if (std::optional<Refusal> r = m.refuse_rewrite()) check(m.damaged() && !r->reason.empty());
    (void)m.body_text();
}

void check_classification(const Message& m, bool null_sender) {
    EnvelopeInfo envelope;
    envelope.mail_from = null_sender ? std::string() : std::string("citizen@example.org");
    Classification c = classify(m, envelope, gateway());
    check(!c.reason.empty());
    check(c.bounce.has_value() == (c.mail_class == MailClass::bounce));
    if (null_sender) check(c.mail_class == MailClass::bounce);
    if (c.bounce) {
        for (const std::string* v :
             {&c.bounce->action, &c.bounce->status, &c.bounce->final_recipient,
              &c.bounce->diagnostic_code, &c.bounce->original_message_id, &c.bounce->source})
            check_clean(*v, 300);
        check(!c.bounce->action.empty());
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    init();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view bytes(reinterpret_cast<const char*>(data), size);
    const ParseLimits limits = small_limits();
    MailResult<Message> m = parse(bytes, limits);
    if (!m) {
        check(!m.refusal().reason.empty());
        return 0;
    }
    check_message(m.value(), limits);
    check_classification(m.value(), (size & 1) != 0);
    return 0;
}
