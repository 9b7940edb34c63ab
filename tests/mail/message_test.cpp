// Parsing, header decoding and part access (vectors E4, E5, F1–F4), on generated messages and on
// messages written as real clients write them (tests/mail/messages/).
#include "mail/message.hpp"

#include <gtest/gtest.h>

#include "mail/utf8.hpp"
#include "mail_fixtures.hpp"

namespace referent::mail {
namespace {

using test::crlf;
using test::read_file;
using test::source_path;

Message parse_ok(std::string_view bytes) {
    MailResult<Message> r = parse(bytes, ParseLimits{});
    if (!r) {
        ADD_FAILURE() << "refused: " << r.refusal().reason;
        return std::move(parse("From: a@example.org\r\n\r\n", ParseLimits{})).value();
    }
    return std::move(r).value();
}

Message parse_file(const char* name) {
    return parse_ok(read_file(source_path(std::string("tests/mail/messages/") + name)));
}

bool safe(const std::string& s) {
    return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos && is_valid_utf8(s);
}

TEST(Message, HeadersInOrderUnfolded) {
    Message m = parse_ok(crlf("From: a@example.org\nSubject: one\n two\nX-A: 1\nx-a: 2\n\nbody\n"));
    std::vector<HeaderField> fields = m.header_fields();
    ASSERT_EQ(fields.size(), 4u);
    EXPECT_EQ(fields[1].name, "Subject");
    EXPECT_EQ(fields[1].value, "one two");
    EXPECT_EQ(m.header_count("X-A"), 2u);
    EXPECT_EQ(m.raw_headers("x-a"), (std::vector<std::string>{"1", "2"}));
    EXPECT_EQ(m.raw_header("X-Missing"), std::nullopt);
    EXPECT_FALSE(m.damaged());
    EXPECT_FALSE(m.refuse_rewrite());
}

TEST(Message, E4EncodedLineBreaksNeverBecomeHeaderLines) {
    Message m = parse_ok(
        crlf("From: a@example.org\nSubject: =?UTF-8?Q?hi=0D=0ABcc:_x@evil.example?=\n\nbody\n"));
    EXPECT_EQ(m.subject(), "hi  Bcc: x@evil.example");
    EXPECT_TRUE(safe(m.subject()));
    EXPECT_EQ(m.header_count("Bcc"), 0u);
    Message nul = parse_ok(crlf("From: a@example.org\nSubject: =?UTF-8?B?YQBi?=\n\nbody\n"));
    EXPECT_TRUE(safe(nul.subject()));
    EXPECT_EQ(nul.subject().size(), 3u);
}

TEST(Message, E5TwoFromHeadersAreRefused) {
    Message m = parse_ok(crlf("From: a@example.org\nFrom: b@example.org\nSubject: x\n\nbody\n"));
    MailResult<Mailbox> from = m.from();
    ASSERT_FALSE(from.ok());
    EXPECT_EQ(from.refusal().kind, RefusalKind::bad_from);
    EXPECT_EQ(from.refusal().reason, "2 From headers");
    Message none = parse_ok(crlf("Subject: x\n\nbody\n"));
    EXPECT_EQ(none.from().refusal().kind, RefusalKind::bad_from);
}

TEST(Message, F1TheIdentityIsTheAddrSpec) {
    Message m = parse_ok(crlf(
        "From: =?utf-8?q?agent=40gov.example?= <attacker@evil.example>\nSubject: x\n\nbody\n"));
    MailResult<Mailbox> from = m.from();
    ASSERT_TRUE(from.ok());
    EXPECT_EQ(from->address, "attacker@evil.example");
    EXPECT_EQ(from->domain(), "evil.example");
    EXPECT_EQ(from->display_name, "agent@gov.example");
}

TEST(Message, F2AmbiguousFromIsRefused) {
    for (const char* value :
         {"alice@example.org)<bob@example.com>", "alice@example.org<<bob@example.com>",
          "a@example.org, b@example.org", "group: a@example.org;"}) {
        Message m = parse_ok(crlf(std::string("From: ") + value + "\nSubject: x\n\nbody\n"));
        MailResult<Mailbox> from = m.from();
        ASSERT_FALSE(from.ok()) << value;
        EXPECT_EQ(from.refusal().kind, RefusalKind::bad_from) << value;
    }
}

TEST(Message, F3BrokenEncodedWordsAreTolerated) {
    for (const char* value : {"=?x-unknown?B?AAAA?=", "=?utf-8?B?####?=", "=?utf-8?Q?=ZZ?="}) {
        Message m =
            parse_ok(crlf(std::string("From: a@example.org\nSubject: ") + value + "\n\nbody\n"));
        EXPECT_EQ(m.raw_header("Subject"), value);
        EXPECT_TRUE(safe(m.subject())) << value;
    }
}

TEST(Message, F4HeaderOfTwentyThousandEncodedWordsIsRefused) {
    std::string s = "From: a@example.org\r\nSubject:";
    for (int i = 0; i < 20000; ++i)
        s += " =?utf-8?q?aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa?=\r\n";
    s += "\r\nbody\r\n";
    ASSERT_GT(s.size(), 1500000u);
    MailResult<Message> r = parse(s, ParseLimits{});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.refusal().kind, RefusalKind::header_too_large);
}

TEST(Message, NoHeaderBlock) {
    for (std::string_view bytes : {std::string_view(""), std::string_view("hello world\r\n")}) {
        MailResult<Message> r = parse(bytes, ParseLimits{});
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.refusal().kind, RefusalKind::no_header);
    }
}

TEST(Message, CriticalParserWarningMarksDamage) {
    Message m =
        parse_ok(crlf("From: a@example.org\nContent-Type: text/plain\n"
                      "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--\n"));
    EXPECT_TRUE(m.damaged());
    ASSERT_FALSE(m.damage().empty());
    EXPECT_NE(m.damage().front().find("GMIME_CRIT_CONFLICTING_HEADER (Content-Type)"),
              std::string::npos);
    std::optional<Refusal> refusal = m.refuse_rewrite();
    ASSERT_TRUE(refusal);
    EXPECT_EQ(refusal->kind, RefusalKind::damaged);
}

TEST(Message, MessageIdsAreParsedLists) {
    Message m = parse_file("gmail_en_reply.eml");
    EXPECT_EQ(m.message_id(), "CAJx5kP2r9Lq0M1nB2vC3xZ4aS5dF6gH7jK8lQ9wE0rT1yU2iOp@mail.gmail.com");
    EXPECT_EQ(m.in_reply_to(),
              (std::vector<std::string>{"20250120140211.9f8e7d@referent.mairie-exemple.fr"}));
    EXPECT_EQ(m.references(),
              (std::vector<std::string>{"20250120130201.4a5b6c@referent.mairie-exemple.fr",
                                        "20250120140211.9f8e7d@referent.mairie-exemple.fr"}));
}

TEST(Message, Latin1LabelsAreReadAsWindows1252) {
    Message m = parse_file("windows_live_mislabelled_1252.eml");
    EXPECT_EQ(m.subject(), "Reçu pour 25 €");
    EXPECT_EQ(m.from()->display_name, "René Dubois");
    std::optional<TextBody> body = m.body_text();
    ASSERT_TRUE(body);
    EXPECT_FALSE(body->html);
    EXPECT_NE(body->text.find("J’ai réglé 25 € pour une carte d’identité"), std::string::npos);
    EXPECT_NE(body->text.find("« Merci »"), std::string::npos);
}

TEST(Message, UnlabelledEightBitText) {
    Message utf8 =
        parse_ok("From: a@example.org\r\nSubject: Caf\xC3\xA9\r\n\r\nd\xC3\xA9j\xC3\xA0\r\n");
    EXPECT_EQ(utf8.subject(), "Café");
    EXPECT_EQ(utf8.text(0), "déjà\r\n");
    Message cp1252 = parse_ok("From: a@example.org\r\nSubject: Caf\xE9\r\n\r\n\x80 5\r\n");
    EXPECT_EQ(cp1252.subject(), "Café");
    EXPECT_EQ(cp1252.text(0), "€ 5\r\n");
}

TEST(Message, OtherCharsetsAreConverted) {
    Message m = parse_ok(
        "From: a@example.org\r\nContent-Type: text/plain; charset=iso-8859-15\r\n"
        "\r\n\xA4uro\r\n");
    EXPECT_EQ(m.text(0), "€uro\r\n");
}

TEST(Message, AttachmentsAndFilenames) {
    Message m = parse_file("thunderbird_en_attachment.eml");
    ASSERT_EQ(m.parts().size(), 3u);
    const PartInfo& photo = m.parts()[2];
    EXPECT_EQ(photo.content_type, "image/jpeg");
    EXPECT_TRUE(photo.attachment);
    EXPECT_EQ(photo.disposition, "attachment");
    EXPECT_EQ(photo.filename, "carte d’identité.jpg");
    EXPECT_EQ(photo.parent, 0u);
    EXPECT_EQ(m.content(2).substr(0, 3), "\xFF\xD8\xFF");
    EXPECT_EQ(m.text(2), std::nullopt);  // not text

    Message outlook = parse_file("outlook_en_attachment.eml");
    ASSERT_EQ(outlook.parts().size(), 5u);
    EXPECT_EQ(outlook.parts()[4].filename, "residence-form-signed.pdf");
    EXPECT_EQ(outlook.content(4).substr(0, 8), "%PDF-1.4");
    EXPECT_EQ(outlook.content(0), "");  // a multipart has no content of its own
}

TEST(Message, BodyTextPrefersPlainAndSkipsAttachedMessages) {
    Message html = parse_file("html_only_fr.eml");
    std::optional<TextBody> body = html.body_text();
    ASSERT_TRUE(body);
    EXPECT_TRUE(body->html);
    EXPECT_NE(body->text.find("recensement citoyen"), std::string::npos);

    Message fwd = parse_ok(crlf(
        "From: a@example.org\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
        "Content-Type: message/rfc822\n\nFrom: c@example.org\nMessage-ID: <inner@example.org>\n"
        "\ninner text\n--b\nContent-Type: text/html\n\n<p>own</p>\n--b--\n"));
    ASSERT_EQ(fwd.parts().size(), 4u);
    EXPECT_TRUE(fwd.parts()[2].in_attached_message);
    EXPECT_FALSE(fwd.parts()[1].in_attached_message);
    body = fwd.body_text();
    ASSERT_TRUE(body);
    EXPECT_TRUE(body->html);
    EXPECT_NE(fwd.content(1).find("Message-ID: <inner@example.org>"), std::string::npos);
}

TEST(Message, PreambleOfAMultipart) {
    Message m =
        parse_ok(crlf("From: a@example.org\nContent-Type: multipart/mixed; boundary=b\n\n"
                      "before\n--b\n\nx\n--b--\n"));
    EXPECT_NE(m.preamble(0).find("before"), std::string::npos);
    EXPECT_EQ(m.preamble(1), "");
}

struct HumanCase {
    const char* file;
    const char* from;
    const char* subject;
    const char* body_fragment;
    std::size_t attachments;
};

// Every message written as a real client writes it parses cleanly and reads back as sent.
TEST(Message, RealClients) {
    const HumanCase cases[] = {
        {"outlook_fr_alternative.eml", "jf.lefevre@entreprise-exemple.fr",
         "Demande d'acte de naissance – copie intégrale", "Les frais de 12 € sont-ils", 0},
        {"outlook_en_attachment.eml", "sarah.oconnor@outlook.com",
         "Residence certificate - signed form", "signed form", 1},
        {"outlook_android_en.eml", "priya.sharma@hotmail.com", "Opening hours", "Monday 3 Feb", 0},
        {"thunderbird_fr_plain.eml", "helene.garnier@laposte.net",
         "Rendez-vous pour un mariage — juin 2025", "pièces à fournir", 0},
        {"thunderbird_en_attachment.eml", "tom.baker@example.net", "Photo of my damaged ID card",
         "damaged ID card", 1},
        {"gmail_fr_alternative.eml", "camille.nguyen.75@gmail.com", "Déclaration de naissance",
         "déclaration de naissance", 0},
        {"gmail_en_reply.eml", "d.brooks@gmail.com", "Re: [EC-2025-000042] Appointment",
         "Thursday at 10", 0},
        {"apple_mail_fr.eml", "elodie.marchand@icloud.com", "Duplicata du livret de famille",
         "J’ai perdu mon livret", 0},
        {"apple_mail_en_attachment.eml", "m.chen@me.com", "Marriage banns - documents",
         "publication of the banns", 1},
        {"iphone_fr.eml", "lucas.bernard@orange.fr", "Ouverture samedi", "Envoyé de mon iPhone", 0},
        {"android_samsung_fr.eml", "nadia.haddad@sfr.fr", "Justificatif de domicile",
         "facture d'électricité", 1},
        {"html_only_fr.eml", "martine.roux@free.fr", "Recensement citoyen", "mon fils", 0},
        {"windows_live_mislabelled_1252.eml", "rene.dubois@wanadoo.fr", "Reçu pour 25 €", "25 €",
         0},
        {"zimbra_fr_latin1_qp.eml", "gerard.petit@laposte.net", "Légalisation de signature",
         "légaliser une signature", 0},
    };
    for (const HumanCase& c : cases) {
        Message m = parse_file(c.file);
        EXPECT_FALSE(m.damaged()) << c.file;
        MailResult<Mailbox> from = m.from();
        ASSERT_TRUE(from.ok()) << c.file;
        EXPECT_EQ(from->address, c.from) << c.file;
        EXPECT_EQ(m.subject(), c.subject) << c.file;
        std::optional<TextBody> body = m.body_text();
        ASSERT_TRUE(body) << c.file;
        EXPECT_NE(body->text.find(c.body_fragment), std::string::npos) << c.file;
        std::size_t attachments = 0;
        for (const PartInfo& p : m.parts()) attachments += p.attachment ? 1 : 0;
        EXPECT_EQ(attachments, c.attachments) << c.file;
    }
}

TEST(Message, MovesKeepTheTree) {
    Message a = parse_file("gmail_fr_alternative.eml");
    Message b = std::move(a);
    EXPECT_EQ(b.subject(), "Déclaration de naissance");
    EXPECT_EQ(b.parts().size(), 3u);
}

}  // namespace
}  // namespace referent::mail
