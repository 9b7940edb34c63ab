// libFuzzer target: arbitrary bytes as a citizen's message, through the whole mail engine:
// parse → classify → forward (forward_wrapped when parse refuses) → rewrite of the forward
// read back as the agent's reply, and rewrite of the input itself read as an agent's reply.
// Checks the promises the relay and the citizen rely on: every byte string produced is pure
// CRLF (vectors A outbound), reads back through parse() with exactly one From that parses to
// one mailbox, a refusal always says why, and the rewrite leaves no forward banner (a begin
// marker line followed by an end marker line, quoted or not) in the text it edited.
// Fixed inputs throughout; the templates are the repository's, loaded once.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "mail/banner_marker.hpp"
#include "mail/classify.hpp"
#include "mail/forward.hpp"
#include "mail/message.hpp"
#include "mail/rewrite.hpp"
#include "mail/template.hpp"

namespace {

using namespace referent::mail;

constexpr std::string_view case_number = "EC-2026-000042";

void check(bool ok) {
    if (!ok) std::abort();
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
    c.loop_token = "gw.mairie.example.gov";
    c.message_id_domain = "gw.mairie.example.gov";
    c.own_addresses = {"etat-civil@mairie.example.fr"};
    c.own_domains = {"gw.mairie.example.gov", "agents.mairie.example.gov"};
    return c;
}

const TemplateSet& templates(bool english) {
    static const TemplateSet* sets[2] = {nullptr, nullptr};
    const TemplateSet*& set = sets[english ? 1 : 0];
    if (!set) {
        referent::config::Organisation org;
        org.name = "Mairie de Villeneuve-Exemple";
        org.templates = REFERENT_SOURCE_DIR "/templates";
        org.language = english ? "en" : "fr";
        auto r = TemplateSet::load(org);
        check(r.ok());  // the repository's templates must load
        set = new TemplateSet(std::move(r).value());
    }
    return *set;
}

std::chrono::system_clock::time_point fixed_date() {
    using namespace std::chrono;
    return sys_days{year{2026} / March / 4} + hours{9} + minutes{30};
}

ForwardInput forward_input(const Mailbox& citizen, bool english) {
    ForwardInput in;
    in.case_number = std::string(case_number);
    in.citizen = citizen;
    in.referent_address = "marie.lambert@agents.mairie.example.gov";
    in.agent_reply_address = "r-7f3a9c@reponse.mairie.example.gov";
    in.earlier_forward_ids = {"fwd-1@gw.mairie.example.gov", "fwd-2@gw.mairie.example.gov"};
    in.gateway_hostname = "gw.mairie.example.gov";
    in.message_id_token = "fwd-3";
    in.date = fixed_date();
    in.templates = &templates(english);
    in.context = sample_context(english ? "en" : "fr", Sample::full);
    in.context.absence.reset();  // the referent reads their own mail
    in.context.case_->number = in.case_number;
    in.context.case_->citizen = {citizen.display_name, citizen.address};
    in.context.case_->earlier_messages = 2;
    return in;
}

RewriteInput rewrite_input(bool english, bool anonymous) {
    RewriteInput in;
    in.case_number = std::string(case_number);
    in.citizen = {"Élodie Marchand", "elodie@example.fr"};
    in.citizen_reply_address = "etat-civil+EC-2026-000042@mairie.example.fr";
    in.citizen_message_ids = {"orig-1@example.fr", "orig-2@example.fr"};
    in.identity = {"Marie Lambert", "marie.lambert@agents.mairie.example.gov"};
    in.agent_reply_address = "r-7f3a9c@reponse.mairie.example.gov";
    in.gateway_hostname = "gw.mairie.example.gov";
    in.message_id = "rep-1@gw.mairie.example.gov";
    in.date = fixed_date();
    in.templates = &templates(english);
    in.context = sample_context(english ? "en" : "fr", Sample::full);
    in.context.case_->number = in.case_number;
    in.context.agent.name = "Marie Lambert";
    in.context.agent.anonymous = anonymous;
    return in;
}

// Pure CRLF: no bare CR, no bare LF.
bool only_crlf(std::string_view s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\r' && (i + 1 >= s.size() || s[i + 1] != '\n')) return false;
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) return false;
    }
    return true;
}

// What the gateway writes: pure CRLF, and it reads back with exactly one From mailbox.
Message check_written(const std::string& bytes) {
    check(only_crlf(bytes));
    MailResult<Message> m = parse(bytes, ParseLimits{});
    check(m.ok());
    check(m->header_count("From") == 1);
    check(m->from().ok());
    return std::move(m).value();
}

// The line without quote prefixes and surrounding blanks, as reply_text.cpp reads it.
std::string_view unquoted(std::string_view line) {
    while (!line.empty() && (line.front() == '>' || line.front() == ' ' || line.front() == '\t'))
        line.remove_prefix(1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r' ||
                             line.back() == '\n'))
        line.remove_suffix(1);
    return line;
}

// A whole banner: a begin marker line, then later an end marker line.
bool has_text_banner(std::string_view t) {
    const std::string begin = banner_begin(case_number), end = banner_end(case_number);
    bool open = false;
    for (std::size_t i = 0; i < t.size();) {
        std::size_t e = t.find('\n', i);
        e = e == std::string_view::npos ? t.size() : e + 1;
        std::string_view line = unquoted(t.substr(i, e - i));
        if (line == begin) open = true;
        if (open && line == end) return true;
        i = e;
    }
    return false;
}

bool has_html_banner(std::string_view html) {
    std::size_t b = html.find(banner_begin(case_number));
    return b != std::string_view::npos && html.find(banner_end(case_number), b) != html.npos;
}

bool own_text(const PartInfo& p, std::string_view type) {
    return p.content_type == type && !p.attachment && !p.in_attached_message && !p.container;
}

// The first own text/plain and text/html parts are the ones the rewrite edited.
void check_no_banner(const Message& m) {
    bool plain = false, html = false;
    for (std::size_t i = 0; i < m.parts().size(); ++i) {
        const PartInfo& p = m.parts()[i];
        if (!plain && own_text(p, "text/plain")) {
            plain = true;
            check(!has_text_banner(m.text(i).value_or("")));
        } else if (!html && own_text(p, "text/html")) {
            html = true;
            check(!has_html_banner(m.text(i).value_or("")));
        }
    }
}

// REFERENT_FUZZ_DUMP=1 prints every intermediate message to stderr (for reading a finding).
void dump(std::string_view what, std::string_view bytes) {
    static const bool on = std::getenv("REFERENT_FUZZ_DUMP") != nullptr;
    if (!on) return;
    std::fprintf(stderr, "===== %.*s\n", static_cast<int>(what.size()), what.data());
    std::fwrite(bytes.data(), 1, bytes.size(), stderr);
    std::fputc('\n', stderr);
}

void rewrite_and_check(const Message& reply, bool english, bool anonymous) {
    MailResult<RewriteOutput> r = rewrite(reply, rewrite_input(english, anonymous));
    if (!r) {
        check(!r.refusal().reason.empty());
        return;
    }
    dump("rewrite", r->bytes);
    Message out = check_written(r->bytes);
    check_no_banner(out);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    init();
    (void)templates(false);
    (void)templates(true);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view raw(reinterpret_cast<const char*>(data), size);
    const bool english = (size & 1) != 0, anonymous = (size & 2) != 0;
    MailResult<Message> m = parse(raw, small_limits());

    MailResult<std::string> fwd = std::string();
    if (m) {
        EnvelopeInfo envelope;
        envelope.mail_from = "citizen@example.org";
        Classification c = classify(m.value(), envelope, gateway());
        check(!c.reason.empty());
        MailResult<Mailbox> from = m->from();
        Mailbox citizen = from ? from.value() : Mailbox{"", "citizen@example.org"};
        fwd = forward(m.value(), raw, forward_input(citizen, english));
    } else {
        check(!m.refusal().reason.empty());
        fwd = forward_wrapped(raw, forward_input({"", "citizen@example.org"}, english),
                              m.refusal().reason);
    }
    if (!fwd) {
        check(!fwd.refusal().reason.empty());
    } else {
        dump("forward", fwd.value());
        Message forwarded = check_written(fwd.value());
        rewrite_and_check(forwarded, english, anonymous);
    }
    if (m) rewrite_and_check(m.value(), english, anonymous);
    return 0;
}
