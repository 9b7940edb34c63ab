// Rewriting the referent's reply for the citizen: subject normalisation (table), banner and
// notes removed across clients, signature, anonymity, refusals, and golden files
// (tests/mail/golden/rewrite_*).
#include "mail/rewrite.hpp"

#include <gtest/gtest.h>

#include "golden.hpp"
#include "mail/subject_tag.hpp"
#include "render_fixture.hpp"

namespace referent::mail {
namespace {

using test::crlf;
using test::only_crlf;
using test::reparsed;

RewriteInput input(const std::string& language, bool anonymous = false) {
    RewriteInput in;
    in.case_number = "EC-2026-000042";
    in.citizen = {"Élodie Marchand", "elodie@example.fr"};
    in.citizen_reply_address = "etat-civil+EC-2026-000042@mairie.example.fr";
    in.citizen_message_ids = {"orig-1@example.fr", "orig-2@example.fr"};
    in.identity = {"Marie Lambert", "marie.lambert@agents.mairie.example.gov"};
    in.agent_reply_address = "r-7f3a9c@reponse.mairie.example.gov";
    in.gateway_hostname = "gw.mairie.example.gov";
    in.message_id = "rep-1@gw.mairie.example.gov";
    in.date = test::fixed_date();
    in.templates = &test::templates(language);
    in.context = sample_context(language, Sample::full);
    in.context.case_->number = in.case_number;
    in.context.agent.name = "Marie Lambert";
    in.context.agent.anonymous = anonymous;
    return in;
}

struct SubjectRow {
    const char* got;
    const char* want;
};

TEST(RewriteSubject, OneTagOneRe) {
    const SubjectRow rows[] = {
        {"Livret de famille", "Re: [EC-2026-000042] Livret de famille"},
        {"Re: [EC-2026-000042] Livret", "Re: [EC-2026-000042] Livret"},
        {"RE: RE: Re: [EC-2026-000042] Livret", "Re: [EC-2026-000042] Livret"},
        {"Re : [EC-2026-000042] Livret", "Re: [EC-2026-000042] Livret"},
        {"Réf : TR: [EC-2026-000042] Livret", "Re: [EC-2026-000042] Livret"},
        {"RÉF. : Livret", "Re: [EC-2026-000042] Livret"},
        {"AW: WG: Fwd: Fw: Livret", "Re: [EC-2026-000042] Livret"},
        {"RE[2]: [ec-2026-000042] Livret [EC-2026-000042]", "Re: [EC-2026-000042] Livret"},
        {"Re\xC2\xA0: TR\xC2\xA0: Livret", "Re: [EC-2026-000042] Livret"},
        {"Re：Livret", "Re: [EC-2026-000042] Livret"},
        {"[EC-2026-000042] Re: Livret", "Re: [EC-2026-000042] Livret"},
        {"Objet : Livret", "Re: [EC-2026-000042] Objet : Livret"},
        {"Reponse attendue", "Re: [EC-2026-000042] Reponse attendue"},
        {"", "Re: [EC-2026-000042]"},
        {"Re:", "Re: [EC-2026-000042]"},
    };
    for (const SubjectRow& r : rows)
        EXPECT_EQ(reply_subject("EC-2026-000042", r.got), r.want) << r.got;
}

TEST(ForwardSubject, TagOnce) {
    EXPECT_EQ(forward_subject("EC-1", "x"), "[EC-1] x");
    EXPECT_EQ(forward_subject("EC-1", "Re: [EC-1] x"), "Re: [EC-1] x");
    EXPECT_EQ(forward_subject("EC-1", "  "), "[EC-1]");
}

const std::string plain_reply = crlf(
    "From: Marie Lambert <marie.lambert@agents.mairie.example.gov>\n"
    "Subject: RE: [EC-2026-000042] Livret\nX-Mailer: Outlook ws12.intra\n"
    "X-MS-Exchange-Organization-SCL: -1\nThread-Index: AQH\nSender: marie@intra\n"
    "Content-Type: text/plain; charset=utf-8\n\n"
    "Votre duplicata est prêt.\nMarie Lambert\n\n#interne payé ?\nvoir régie\n\n"
    "> -- Referent EC-2026-000042 --\n> Dossier\n> -- /Referent EC-2026-000042 --\n> \n> "
    "Bonjour\n");

RewriteOutput rewrite_ok(const std::string& raw, const RewriteInput& in) {
    Message msg = reparsed(raw);
    MailResult<RewriteOutput> r = rewrite(msg, in);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.refusal().reason);
    return r.ok() ? r.value() : RewriteOutput{"From: x@y\r\n\r\n", {}};
}

TEST(Rewrite, HeadersForTheCitizen) {
    RewriteOutput out = rewrite_ok(plain_reply, input("fr"));
    Message m = reparsed(out.bytes);
    ASSERT_TRUE(m.from().ok());
    EXPECT_EQ(m.from()->address, "etat-civil+EC-2026-000042@mairie.example.fr");
    EXPECT_NE(m.from()->display_name.find("Marie Lambert"), std::string::npos);
    EXPECT_EQ(m.header("Reply-To"), m.header("From"));
    EXPECT_EQ(m.subject(), "Re: [EC-2026-000042] Livret");
    EXPECT_EQ(m.message_id(), "rep-1@gw.mairie.example.gov");
    EXPECT_EQ(m.in_reply_to(), std::vector<std::string>{"orig-2@example.fr"});
    EXPECT_EQ(m.references().size(), 2u);
    for (const char* gone :
         {"X-Mailer", "X-MS-Exchange-Organization-SCL", "Thread-Index", "Sender"})
        EXPECT_EQ(m.header_count(gone), 0u) << gone;
    EXPECT_TRUE(only_crlf(out.bytes));
}

TEST(Rewrite, BannerAndNotesRemovedSignatureAdded) {
    RewriteOutput out = rewrite_ok(plain_reply, input("fr"));
    Message m = reparsed(out.bytes);
    std::string text = m.body_text()->text;
    EXPECT_EQ(text.find("Referent EC-"), std::string::npos);
    EXPECT_EQ(text.find("#interne"), std::string::npos);
    EXPECT_EQ(text.find("régie"), std::string::npos);
    EXPECT_NE(text.find("Votre duplicata est prêt."), std::string::npos);
    EXPECT_NE(text.find("> Bonjour"), std::string::npos);
    EXPECT_LT(text.find("Référence du dossier"), text.find("> Bonjour"));  // card above the quote
    ASSERT_EQ(out.internal_notes.size(), 1u);
    EXPECT_EQ(out.internal_notes[0], "#interne payé ?\nvoir régie\n");
}

std::string base64(const std::string& in) {
    static const char* abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    for (std::size_t i = 0; i < in.size(); i += 3) {
        auto octet = [&in](std::size_t k) {
            return k < in.size() ? static_cast<unsigned>(static_cast<unsigned char>(in[k])) : 0u;
        };
        const unsigned n = (octet(i) << 16) | (octet(i + 1) << 8) | octet(i + 2);
        out += abc[(n >> 18) & 63];
        out += abc[(n >> 12) & 63];
        out += i + 1 < in.size() ? abc[(n >> 6) & 63] : '=';
        out += i + 2 < in.size() ? abc[n & 63] : '=';
    }
    return out;
}

// Found by fuzzing: a text whose lines end in a bare CR (base64 hides it from the transport)
// kept its banner and its internal note out of the strip steps, which split at LF only.
TEST(Rewrite, BareCrLineEndingsHideNeitherBannerNorNotes) {
    std::string body =
        "Votre duplicata est pr\xc3\xaat.\r\r#interne pay\xc3\xa9 ?\rvoir r\xc3\xa9gie\r\r"
        "> -- Referent EC-2026-000042 --\r> Dossier\r> -- /Referent EC-2026-000042 --\r> "
        "Bonjour\r";
    std::string raw = crlf(
        "From: Marie Lambert <marie.lambert@agents.mairie.example.gov>\n"
        "Subject: RE: [EC-2026-000042] Livret\n"
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n");
    raw += base64(body) + "\r\n";
    RewriteOutput out = rewrite_ok(raw, input("fr"));
    std::string text = reparsed(out.bytes).body_text()->text;
    EXPECT_EQ(text.find("Referent EC-"), std::string::npos);
    EXPECT_EQ(text.find("#interne"), std::string::npos);
    EXPECT_EQ(text.find("gie"), std::string::npos);
    ASSERT_EQ(out.internal_notes.size(), 1u);
}

// Found by fuzzing: NULs in a header and an unterminated multipart make the private copy of
// this reply read back with as many parts as the original but in another shape; editing the
// copy by the original's indices left the quoted banner in the text the citizen would read.
// The rewrite now refuses such a reply instead of guessing which part is which.
TEST(Rewrite, RefusesAReplyWhoseCopyReadsBackInAnotherShape) {
    const std::string raw = test::read_file(
        REFERENT_SOURCE_DIR
        "/tests/fuzz/corpus/mail_engine/regression-reply-reads-back-in-another-shape");
    MailResult<RewriteOutput> r = rewrite(reparsed(raw), input("fr"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.refusal().kind, RefusalKind::damaged);
}

TEST(Rewrite, AnonymousNamesNobody) {
    RewriteOutput out = rewrite_ok(plain_reply, input("fr", true));
    EXPECT_EQ(out.bytes.find("Lambert"), std::string::npos);
    EXPECT_EQ(out.bytes.find("marie.lambert"), std::string::npos);
    Message m = reparsed(out.bytes);
    EXPECT_EQ(m.body_text()->text.find("Marie"), std::string::npos);
}

TEST(Rewrite, EmptyReplyIsRefused) {
    std::string raw = crlf(
        "From: m@agents.example\nSubject: Re: x\nContent-Type: text/plain\n\n\n#interne only a "
        "note\n\n"
        "Le 2 mars, X a écrit :\n> -- Referent EC-2026-000042 --\n> b\n> -- /Referent "
        "EC-2026-000042 --\n> hello\n");
    MailResult<RewriteOutput> r = rewrite(reparsed(raw), input("fr"));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.refusal().reason.find("empty"), std::string::npos);
}

TEST(Rewrite, RefusesCrLfInValues) {
    RewriteInput in = input("fr");
    in.citizen.display_name = "Eve\r\nBcc: victim@example.net";
    EXPECT_FALSE(rewrite(reparsed(plain_reply), in).ok());
    in = input("fr");
    in.message_id = "a\nb@x";
    EXPECT_FALSE(rewrite(reparsed(plain_reply), in).ok());
}

TEST(Rewrite, Golden) {
    std::vector<std::string> files = test::golden_inputs("rewrite_");
    ASSERT_GE(files.size(), 4u);
    for (const std::string& path : files) {
        SCOPED_TRACE(path);
        const std::string language = test::language_of(path);
        RewriteInput in = input(language, path.find("anonymous") != std::string::npos);
        RewriteOutput out = rewrite_ok(test::read_file(path), in);
        test::expect_golden(path, out.bytes);
        Message m = reparsed(out.bytes);
        ASSERT_TRUE(m.from().ok());
        EXPECT_EQ(out.bytes.find("Referent EC-2026-000042 --"), std::string::npos);
        EXPECT_EQ(out.bytes.find("referent-banner"), std::string::npos);
        EXPECT_EQ(out.bytes.find("r-7f3a9c@"), std::string::npos);  // the agent reply address
        EXPECT_EQ(out.internal_notes.empty(),
                  test::read_file(path).find("#intern") == std::string::npos);
        for (std::size_t i = 0; i < m.parts().size(); ++i)
            if (auto t = m.text(i)) {
                EXPECT_EQ(t->find("#intern"), std::string::npos) << i;
            }
        test::write_sidecar(path, m.from()->display_name, m.from()->address,
                            {{"From", 1},
                             {"Reply-To", 1},
                             {"To", 1},
                             {"Subject", 1},
                             {"Message-ID", 1},
                             {"Date", 1},
                             {"MIME-Version", 1},
                             {"Received", 0},
                             {"Thread-Index", 0},
                             {"X-Mailer", 0},
                             {"X-Originating-IP", 0},
                             {"DKIM-Signature", 0},
                             {"Sender", 0},
                             {"Disposition-Notification-To", 0}});
    }
}

}  // namespace
}  // namespace referent::mail
