// The gateway's own messages: every notice in French and English, headers exactly as notice.hpp
// lists them, machine mail for any Référent reading them, no personal name for an anonymous
// agent, header injection refused or escaped, and golden files (tests/mail/golden/notice-*).
#include "mail/notice.hpp"

#include <gtest/gtest.h>

#include <array>
#include <map>

#include "golden.hpp"
#include "mail/classify.hpp"
#include "mail/headers.hpp"
#include "render_fixture.hpp"

namespace referent::mail {
namespace {

using test::only_crlf;
using test::reparsed;

constexpr std::array<TemplateName, 6> notices{
    TemplateName::acknowledgement,  TemplateName::handover, TemplateName::absence,
    TemplateName::delivery_failure, TemplateName::reminder, TemplateName::escalation};

const char* const case_number = "EC-2026-000042";
const char* const gateway = "gw.mairie-exemple.fr";
const char* const citizen_reply = "etat-civil+c42@mairie-exemple.fr";

NoticeInput input(TemplateName name) {
    NoticeInput in;
    if (to_citizen(name)) {
        in.recipient = {"Paul Durand", "paul.durand@example.org"};
        in.thread_ids = {"m1@example.org", "m2@example.org"};
    } else {
        in.recipient = name == TemplateName::escalation
                           ? Mailbox{"Chef de service", "chef.etat-civil@agents.mairie-exemple.fr"}
                           : Mailbox{"", "jeanne.martin@agents.mairie-exemple.fr"};
        in.thread_ids = {"fwd-3@gw.mairie-exemple.fr"};
    }
    in.citizen_reply_address = citizen_reply;
    in.sender = {"Référent — Service État civil", "ne-pas-repondre@gw.mairie-exemple.fr"};
    in.gateway_hostname = gateway;
    in.message_id_token = std::string("n-") + std::string(template_stem(name));
    in.date = test::fixed_date();
    return in;
}

std::string render_ok(TemplateName name, const std::string& language, const TemplateContext& ctx,
                      const NoticeInput& in) {
    MailResult<std::string> r = notice(name, test::templates(language), ctx, in);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.refusal().reason);
    return r.ok() ? r.value() : std::string("From: x@y.example\r\n\r\n");
}

std::string render_ok(TemplateName name, const std::string& language,
                      Sample sample = Sample::full) {
    return render_ok(name, language, sample_context(language, sample), input(name));
}

std::vector<std::string> expected_names(TemplateName name, bool threaded) {
    std::vector<std::string> out{"From"};
    if (to_citizen(name)) out.push_back("Reply-To");
    for (const char* n : {"To", "Subject", "Date", "Message-ID"}) out.push_back(n);
    if (threaded) out.insert(out.end(), {"In-Reply-To", "References"});
    for (const char* n : {"Auto-Submitted", "X-Auto-Response-Suppress", "X-Referent-Loop",
                          "X-Referent-Case", "MIME-Version"})
        out.push_back(n);
    return out;
}

std::size_t occurrences(const std::string& s, const std::string& what) {
    std::size_t n = 0;
    for (std::size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
    return n;
}

std::string without_cr(std::string s) {
    std::erase(s, '\r');
    return s;
}

// The fields of the message's own header block, as header_fields() lists them: GMime keeps
// the root Content-Type on the body part, so it is checked through parts()[0].
std::vector<std::string> header_names(const Message& m) {
    std::vector<std::string> out;
    for (const HeaderField& f : m.header_fields()) out.push_back(f.name);
    return out;
}

// Another Référent, on another host, with its own addresses.
ClassifyConfig foreign_gateway() {
    ClassifyConfig c;
    c.loop_token = "referent.prefecture.example";
    c.message_id_domain = "referent.prefecture.example";
    c.own_addresses = {"accueil@prefecture.example"};
    c.own_domains = {"referent.prefecture.example"};
    return c;
}

ClassifyConfig this_gateway() {
    ClassifyConfig c;
    c.loop_token = gateway;
    c.message_id_domain = gateway;
    c.own_addresses = {"etat-civil@mairie-exemple.fr", citizen_reply,
                       "ne-pas-repondre@gw.mairie-exemple.fr"};
    c.own_domains = {gateway};
    return c;
}

EnvelopeInfo envelope_to(const std::string& rcpt) {
    EnvelopeInfo e;
    e.mail_from = "bounce+n@gw.mairie-exemple.fr";
    e.recipients = {rcpt};
    return e;
}

class NoticeEach : public ::testing::TestWithParam<std::tuple<TemplateName, const char*>> {};

TEST_P(NoticeEach, HeadersBodyAndClassification) {
    const auto [name, lang] = GetParam();
    const std::string language = lang;
    const TemplateSet& set = test::templates(language);
    const TemplateContext ctx = sample_context(language, Sample::full);
    const NoticeInput in = input(name);
    const std::string bytes = render_ok(name, language, ctx, in);
    EXPECT_TRUE(only_crlf(bytes));
    const Message m = reparsed(bytes);
    EXPECT_FALSE(m.damaged());
    EXPECT_EQ(header_names(m), expected_names(name, true));

    ASSERT_TRUE(m.from().ok());
    if (to_citizen(name)) {
        EXPECT_EQ(m.from()->display_name, set.display_name(ctx));
        EXPECT_EQ(m.from()->address, citizen_reply);
        EXPECT_EQ(m.raw_header("Reply-To"), m.raw_header("From"));
    } else {
        EXPECT_EQ(m.from()->display_name, in.sender.display_name);
        EXPECT_EQ(m.from()->address, in.sender.address);
    }
    // Every From display here holds "—" or "É": RFC 2047, never raw 8-bit.
    EXPECT_NE(m.raw_header("From")->find("=?UTF-8?B?"), std::string::npos);
    EXPECT_NE(m.raw_header("To")->find(in.recipient.address), std::string::npos);

    const std::string tag = std::string("[") + case_number + "]";
    EXPECT_EQ(m.subject(), tag + " " + set.subject(name, ctx));
    EXPECT_EQ(occurrences(m.subject(), tag), 1u);
    EXPECT_EQ(m.raw_header("Date"), "Wed, 04 Mar 2026 09:30:00 +0000");
    EXPECT_EQ(m.message_id(), in.message_id_token + "@" + gateway);
    EXPECT_EQ(m.in_reply_to(), std::vector<std::string>{in.thread_ids.back()});
    EXPECT_EQ(m.references(), in.thread_ids);
    const bool reply = name == TemplateName::acknowledgement || name == TemplateName::absence;
    EXPECT_EQ(m.raw_header(headers::auto_submitted), reply ? "auto-replied" : "auto-generated");
    EXPECT_EQ(m.raw_header(headers::auto_response_suppress), "All");
    EXPECT_EQ(m.raw_header(headers::loop), gateway);
    EXPECT_EQ(m.raw_header(headers::case_number), case_number);

    ASSERT_EQ(m.parts().size(), 3u);
    EXPECT_EQ(m.parts()[0].content_type, "multipart/alternative");
    EXPECT_EQ(m.parts()[1].content_type, "text/plain");
    EXPECT_EQ(m.parts()[2].content_type, "text/html");
    EXPECT_EQ(m.parts()[1].charset, "utf-8");
    EXPECT_EQ(m.parts()[2].charset, "utf-8");
    EXPECT_EQ(without_cr(m.text(1).value_or("")), set.text(name, ctx));
    EXPECT_EQ(without_cr(m.text(2).value_or("")), set.html(name, ctx));

    // Machine mail for anyone: auto-reply for another Référent, a loop for this one.
    const Classification other = classify(m, envelope_to(in.recipient.address), foreign_gateway());
    EXPECT_EQ(other.mail_class, MailClass::auto_reply) << other.reason;
    const Classification own = classify(m, envelope_to(in.recipient.address), this_gateway());
    EXPECT_EQ(own.mail_class, MailClass::loop) << own.reason;
}

TEST_P(NoticeEach, AnonymousAgentNameAppearsNowhere) {
    const auto [name, lang] = GetParam();
    const TemplateContext ctx = sample_context(lang, Sample::anonymous);
    ASSERT_TRUE(ctx.agent.anonymous);
    NoticeInput in = input(name);
    in.thread_ids.clear();
    const std::string bytes = render_ok(name, lang, ctx, in);
    const Message m = reparsed(bytes);
    EXPECT_EQ(header_names(m), expected_names(name, false));
    std::string decoded = bytes;
    for (const HeaderField& f : m.header_fields()) decoded += m.header(f.name).value_or("");
    for (std::size_t i = 0; i < m.parts().size(); ++i) decoded += m.text(i).value_or("");
    for (const char* personal : {"Jeanne", "Martin-Lef", "Officière", "Officiere"})
        EXPECT_EQ(decoded.find(personal), std::string::npos) << personal;
    if (to_citizen(name)) {
        EXPECT_EQ(m.from()->display_name, ctx.service.name);
    }
    EXPECT_EQ(classify(m, envelope_to(in.recipient.address), foreign_gateway()).mail_class,
              MailClass::auto_reply);
}

std::string param_name(
    const ::testing::TestParamInfo<std::tuple<TemplateName, const char*>>& info) {
    return std::string(template_stem(std::get<0>(info.param))) + "_" + std::get<1>(info.param);
}

INSTANTIATE_TEST_SUITE_P(Notice, NoticeEach,
                         ::testing::Combine(::testing::ValuesIn(notices),
                                            ::testing::Values("fr", "en")),
                         param_name);

TEST(Notice, AsciiDisplayNameIsNotEncoded) {
    TemplateContext ctx = sample_context("en", Sample::anonymous);
    ctx.service.name = "Civil Registry";
    const Message m = reparsed(
        render_ok(TemplateName::acknowledgement, "en", ctx, input(TemplateName::acknowledgement)));
    EXPECT_EQ(m.raw_header("From"), "Civil Registry <etat-civil+c42@mairie-exemple.fr>");
}

TEST(Notice, NonAsciiDisplayNamesComeBackExactly) {
    for (const char* display :
         {"Dupont, Jean (Service « Permis »)", "Élodie", "Référent — Service État civil",
          "Ελένη Παπαδοπούλου-Καραγιαννοπούλου Υπηρεσία", "a \"quoted\" é, (x)",
          "𝔍𝔢𝔞𝔫𝔫𝔢 𝔐𝔞𝔯𝔱𝔦𝔫-𝔏𝔢𝔣è𝔳𝔯𝔢 — 𝔖𝔢𝔯𝔳𝔦𝔠𝔢"}) {
        NoticeInput in = input(TemplateName::reminder);
        in.sender.display_name = display;
        const std::string bytes =
            render_ok(TemplateName::reminder, "fr", sample_context("fr", Sample::full), in);
        const Message m = reparsed(bytes);
        ASSERT_TRUE(m.from().ok()) << display;
        EXPECT_EQ(m.from()->display_name, display) << *m.raw_header("From");
        EXPECT_EQ(m.header_count("From"), 1u);
        EXPECT_TRUE(only_crlf(bytes));
    }
}

TEST(Notice, CitizenSubjectAlreadyTaggedKeepsOneTag) {
    TemplateContext ctx = sample_context("fr", Sample::full);
    ctx.case_->subject = "Re: [ec-2026-000042]  suite de ma demande [EC-2026-000042]";
    const Message m = reparsed(
        render_ok(TemplateName::acknowledgement, "fr", ctx, input(TemplateName::acknowledgement)));
    EXPECT_EQ(m.subject(), "[EC-2026-000042] Accusé de réception\u00a0: Re: suite de ma demande");
}

TEST(Notice, CrLfInContextValuesIsEscapedNeverANewHeader) {
    TemplateContext ctx = sample_context("fr", Sample::full);
    ctx.case_->subject = "x\r\nBcc: victim@example.net";
    ctx.agent.name = "Jeanne\r\nBcc: victim@example.net";
    ctx.failure->recipient = "a@example.org\nBcc: victim@example.net";
    for (TemplateName name : notices) {
        const std::string bytes = render_ok(name, "fr", ctx, input(name));
        const Message m = reparsed(bytes);
        EXPECT_EQ(m.header_count("Bcc"), 0u) << template_stem(name);
        // The value is text in the body (verbatim, as template_context.hpp says), never a field.
        const std::string header_block = bytes.substr(0, bytes.find("\r\n\r\n") + 2);
        EXPECT_EQ(header_block.find("\r\nBcc:"), std::string::npos) << template_stem(name);
        EXPECT_EQ(occurrences(header_block, "\r\nSubject:"), 1u);
        EXPECT_EQ(header_names(m), expected_names(name, true)) << template_stem(name);
        EXPECT_TRUE(only_crlf(bytes));
    }
}

TEST(Notice, CrLfOrNulInInputValuesIsRefused) {
    const TemplateContext ctx = sample_context("fr", Sample::full);
    const std::string bad[] = {"a@b.example\r\nBcc: v@example.net", "a@b.example\nx",
                               std::string("a@b\0.example", 12)};
    for (const std::string& v : bad) {
        for (TemplateName name : {TemplateName::acknowledgement, TemplateName::reminder}) {
            std::vector<NoticeInput> cases(7, input(name));
            cases[0].recipient.address = v;
            cases[1].recipient.display_name = v;
            cases[2].citizen_reply_address = v;
            cases[3].sender.display_name = v;
            cases[4].thread_ids.push_back(v);
            cases[5].gateway_hostname = v;
            cases[6].message_id_token = v;
            for (std::size_t i = 0; i < cases.size(); ++i) {
                // A field this notice does not write cannot make it unsafe.
                if ((i == 2 && !to_citizen(name)) || (i == 3 && to_citizen(name))) continue;
                MailResult<std::string> r = notice(name, test::templates("fr"), ctx, cases[i]);
                EXPECT_FALSE(r.ok()) << template_stem(name) << " field " << i;
            }
        }
    }
}

TEST(Notice, AddressThatIsNotAnAddrSpecIsRefused) {
    NoticeInput in = input(TemplateName::reminder);
    in.sender.address = "no-reply";
    EXPECT_FALSE(notice(TemplateName::reminder, test::templates("fr"),
                        sample_context("fr", Sample::full), in)
                     .ok());
    in = input(TemplateName::reminder);
    in.message_id_token = "a@b";
    EXPECT_FALSE(notice(TemplateName::reminder, test::templates("fr"),
                        sample_context("fr", Sample::full), in)
                     .ok());
}

TEST(Notice, NoThreadIdsNoThreadingHeaders) {
    NoticeInput in = input(TemplateName::escalation);
    in.thread_ids.clear();
    const Message m =
        reparsed(render_ok(TemplateName::escalation, "en", sample_context("en", Sample::full), in));
    EXPECT_EQ(header_names(m), expected_names(TemplateName::escalation, false));
}

TEST(Notice, DeterministicBytes) {
    EXPECT_EQ(render_ok(TemplateName::handover, "fr"), render_ok(TemplateName::handover, "fr"));
}

// tests/mail/golden/notice-<stem>_<lang>.out.eml, with the .out.json the strict Python checker
// (check_rendered.py, registered on the whole golden directory) reads.
TEST(Notice, Golden) {
    for (TemplateName name : notices) {
        for (const std::string language : {"fr", "en"}) {
            const std::string stem =
                test::golden_dir() + "/notice-" + std::string(template_stem(name)) + "_" + language;
            const std::string pseudo_in = stem + ".in.eml";  // no input file: names the outputs
            const TemplateContext ctx = sample_context(language, Sample::full);
            const NoticeInput in = input(name);
            const std::string bytes = render_ok(name, language, ctx, in);
            test::expect_golden(pseudo_in, bytes);
            std::map<std::string, int> counts;
            for (const std::string& h : expected_names(name, true)) counts[h] = 1;
            counts["Content-Type"] = 1;
            for (const char* h : {"Cc", "Bcc", "Sender", "Precedence"}) counts[h] = 0;
            if (!to_citizen(name)) counts["Reply-To"] = 0;
            const bool citizen = to_citizen(name);
            test::write_sidecar(
                pseudo_in,
                citizen ? test::templates(language).display_name(ctx) : in.sender.display_name,
                citizen ? citizen_reply : in.sender.address, counts);
        }
    }
}

}  // namespace
}  // namespace referent::mail
