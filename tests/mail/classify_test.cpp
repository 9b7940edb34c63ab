// Classification (vectors section I): one table row per rule, the order between rules, the
// real bounces of tests/corpus/bounces, and human mail from real clients.
#include "mail/classify.hpp"

#include <gtest/gtest.h>

#include "mail/headers.hpp"
#include "mail_fixtures.hpp"

namespace referent::mail {
namespace {

using test::crlf;
using test::eml_files;
using test::read_file;

ClassifyConfig gateway_config() {
    ClassifyConfig c;
    c.loop_token = "referent.mairie-exemple.fr";
    c.message_id_domain = "referent.mairie-exemple.fr";
    c.own_addresses = {"etat-civil@mairie-exemple.fr"};
    c.own_domains = {"referent.mairie-exemple.fr"};
    c.max_received = 30;
    return c;
}

EnvelopeInfo citizen_envelope() {
    EnvelopeInfo e;
    e.mail_from = "jeanne@example.org";
    e.recipients = {"etat-civil@mairie-exemple.fr"};
    return e;
}

struct Row {
    const char* name = "";
    std::string headers = "";  // added before the standard ones
    MailClass want = MailClass::human;
    const char* reason = "";  // a substring of the reason
    std::optional<std::string> mail_from = "jeanne@example.org";
    std::string from = "Jeanne Martin <jeanne@example.org>";
    std::string body = "Content-Type: text/plain; charset=utf-8\n\nBonjour\n";
    std::string message_id = "<abc123@example.org>";
};

std::string message_of(const Row& row) {
    return crlf(row.headers + "From: " + row.from +
                "\nTo: etat-civil@mairie-exemple.fr\nSubject: Demande\nMessage-ID: " +
                row.message_id + "\nMIME-Version: 1.0\n" + row.body);
}

std::string received_lines(int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += "Received: from hop" + std::to_string(i) + ".example by x\n";
    return s;
}

const char* report_body =
    "Content-Type: multipart/report; report-type=delivery-status; boundary=r\n\n"
    "--r\nContent-Type: text/plain\n\nUndeliverable\n"
    "--r\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\n"
    "Final-Recipient: rfc822; gone@example.net\nAction: failed\nStatus: 5.1.1\n--r--\n";

const char* opensmtpd_body =
    "Content-Type: multipart/mixed; boundary=m\n\n"
    "--m\nContent-Type: text/plain\n\nHi!\n"
    "--m\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\n"
    "Final-Recipient: rfc822; gone@example.net\nAction: failed\nStatus: 5.0.0\n--m--\n";

const char* global_body =
    "Content-Type: multipart/report; report-type=global-delivery-status; boundary=g\n\n"
    "--g\nContent-Type: text/plain\n\nNon remis\n"
    "--g\nContent-Type: message/global-delivery-status\n\nReporting-MTA: dns; mx.example.org\n\n"
    "Final-Recipient: utf-8; jos\xC3\xA9@exemple.fr\nAction: failed\nStatus: 5.1.1\n--g--\n";

const char* mdn_body =
    "Content-Type: multipart/report; report-type=disposition-notification; boundary=d\n\n"
    "--d\nContent-Type: text/plain\n\nRead\n"
    "--d\nContent-Type: message/disposition-notification\n\nDisposition: manual-action/"
    "MDN-sent-manually; displayed\n--d--\n";

std::vector<Row> rows() {
    using enum MailClass;
    std::vector<Row> r = {
        // 1. bounces
        {.name = "null sender", .want = bounce, .reason = "null envelope sender", .mail_from = ""},
        {.name = "multipart/report",
         .want = bounce,
         .reason = "report-type=delivery-status",
         .body = report_body},
        {.name = "dsn in multipart/mixed",
         .want = bounce,
         .reason = "message/delivery-status part",
         .body = opensmtpd_body},
        {.name = "global dsn",
         .want = bounce,
         .reason = "global-delivery-status",
         .body = global_body},
        {.name = "X-Failed-Recipients",
         .headers = "X-Failed-Recipients: gone@example.net\n",
         .want = bounce,
         .reason = "X-Failed-Recipients"},
        {.name = "From mailer-daemon",
         .want = bounce,
         .reason = "From mailer-daemon",
         .from = "Mail Delivery System <MAILER-DAEMON@mx.example.org>"},
        {.name = "From postmaster",
         .want = bounce,
         .reason = "From postmaster",
         .from = "postmaster@example.org (Postmaster)"},
        {.name = "From mailer-daemon without domain",
         .want = bounce,
         .reason = "From mailer-daemon",
         .from = "Mail Delivery Subsystem <MAILER-DAEMON>"},
        // 2. loops
        {.name = "our loop header",
         .headers = "X-Referent-Loop: referent.mairie-exemple.fr\n",
         .want = loop,
         .reason = "loop header"},
        {.name = "another gateway's loop header",
         .headers = "X-Referent-Loop: referent.ville-voisine.fr\n",
         .want = human,
         .reason = "no sign"},
        {.name = "our Message-ID",
         .want = loop,
         .reason = "Message-ID minted",
         .message_id = "<x1@Referent.Mairie-Exemple.fr>"},
        {.name = "from our service address",
         .want = loop,
         .reason = "From our own address",
         .from = "Etat civil <etat-civil@mairie-exemple.fr>"},
        {.name = "from our domain",
         .want = loop,
         .reason = "From our own domain",
         .from = "r+EC-1@referent.mairie-exemple.fr"},
        {.name = "envelope sender ours",
         .want = loop,
         .reason = "envelope sender is our own domain",
         .mail_from = "bounce+x@referent.mairie-exemple.fr"},
        {.name = "30 Received", .headers = received_lines(30), .want = human, .reason = "no sign"},
        {.name = "31 Received",
         .headers = received_lines(31),
         .want = loop,
         .reason = "31 Received headers (more than 30)"},
        // 3. auto-replies
        {.name = "Auto-Submitted auto-replied",
         .headers = "Auto-Submitted: auto-replied\n",
         .want = auto_reply,
         .reason = "Auto-Submitted: auto-replied"},
        {.name = "Auto-Submitted auto-generated",
         .headers = "Auto-Submitted: auto-generated (vacation)\n",
         .want = auto_reply,
         .reason = "Auto-Submitted: auto-generated"},
        {.name = "Auto-Submitted no",
         .headers = "Auto-Submitted: no\n",
         .want = human,
         .reason = "no sign"},
        {.name = "Auto-Submitted NO",
         .headers = "Auto-Submitted: NO\n",
         .want = human,
         .reason = "no sign"},
        {.name = "X-FC-MachineGenerated true",
         .headers = "X-FC-MachineGenerated: true\n",
         .want = auto_reply,
         .reason = "X-FC-MachineGenerated"},
        {.name = "X-FC-MachineGenerated false",
         .headers = "X-FC-MachineGenerated: false\n",
         .want = human,
         .reason = "no sign"},
        {.name = "Precedence auto_reply",
         .headers = "Precedence: auto_reply\n",
         .want = auto_reply,
         .reason = "Precedence: auto_reply"},
        {.name = "X-Precedence auto_reply",
         .headers = "X-Precedence: auto_reply\n",
         .want = auto_reply,
         .reason = "X-Precedence: auto_reply"},
        {.name = "Exchange pair",
         .headers = "X-MS-Exchange-Inbox-Rules-Loop: jeanne@example.org\n"
                    "X-Auto-Response-Suppress: All\n",
         .want = auto_reply,
         .reason = "X-MS-Exchange-Inbox-Rules-Loop"},
        {.name = "Exchange pair, list",
         .headers = "X-MS-Exchange-Inbox-Rules-Loop: jeanne@example.org\n"
                    "X-Auto-Response-Suppress: DR, all\n",
         .want = auto_reply,
         .reason = "X-MS-Exchange-Inbox-Rules-Loop"},
        {.name = "rules loop alone",
         .headers = "X-MS-Exchange-Inbox-Rules-Loop: jeanne@example.org\n",
         .want = human,
         .reason = "no sign"},
        {.name = "X-Auto-Response-Suppress alone",
         .headers = "X-Auto-Response-Suppress: All\n",
         .want = human,
         .reason = "no sign"},
        {.name = "X-Auto-Response-Suppress OOF",
         .headers = "X-Auto-Response-Suppress: OOF, AutoReply\n",
         .want = human,
         .reason = "no sign"},
        {.name = "Exchange generated",
         .headers = "X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent\n",
         .want = auto_reply,
         .reason = "X-MS-Exchange-Generated-Message-Source"},
        {.name = "read receipt",
         .want = auto_reply,
         .reason = "disposition-notification",
         .body = mdn_body},
        // 4. bulk
        {.name = "List-Id",
         .headers = "List-Id: Lettre d'information <news.example.org>\n",
         .want = bulk,
         .reason = "List-Id header"},
        {.name = "List-Unsubscribe",
         .headers = "List-Unsubscribe: <mailto:leave@example.org>\n",
         .want = bulk,
         .reason = "List-Unsubscribe header"},
        // 5. human, and the order between rules
        {.name = "plain", .want = human, .reason = "no sign of automation"},
        {.name = "unknown envelope", .want = human, .reason = "no sign", .mail_from = std::nullopt},
        {.name = "bounce before auto-reply",
         .headers = "Auto-Submitted: auto-replied\n",
         .want = bounce,
         .reason = "null envelope sender",
         .mail_from = ""},
        {.name = "loop before auto-reply",
         .headers = "Auto-Submitted: auto-replied\n"
                    "X-Referent-Loop: referent.mairie-exemple.fr\n",
         .want = loop,
         .reason = "loop header"},
        {.name = "auto-reply before bulk",
         .headers = "Precedence: bulk\nX-Autoreply: yes\n",
         .want = auto_reply,
         .reason = "X-Autoreply"},
    };
    for (const char* h : {"X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-AutoReply-From",
                          "X-Mail-Autoreply", "X-Autogenerated"})
        r.push_back(
            {.name = h, .headers = std::string(h) + ": yes\n", .want = auto_reply, .reason = h});
    for (const char* p : {"bulk", "junk", "list", "Bulk"})
        r.push_back({.name = p,
                     .headers = std::string("Precedence: ") + p + "\n",
                     .want = bulk,
                     .reason = "Precedence: "});
    return r;
}

TEST(Classify, RulesTable) {
    for (const Row& row : rows()) {
        MailResult<Message> m = parse(message_of(row), ParseLimits{});
        ASSERT_TRUE(m.ok()) << row.name;
        EnvelopeInfo envelope = citizen_envelope();
        envelope.mail_from = row.mail_from;
        Classification c = classify(m.value(), envelope, gateway_config());
        EXPECT_EQ(to_string(c.mail_class), to_string(row.want)) << row.name << ": " << c.reason;
        EXPECT_NE(c.reason.find(row.reason), std::string::npos) << row.name << ": " << c.reason;
        EXPECT_EQ(c.bounce.has_value(), row.want == MailClass::bounce) << row.name;
    }
}

TEST(Classify, LocalisedSubjectPrefixes) {
    for (const char* subject :
         {"Réponse automatique : Demande", "RÉPONSE AUTOMATIQUE: Demande", "Absence du bureau",
          "Out of Office: Demande", "Automatic reply: Demande", "AUTO: Demande (returning 3/2)",
          "Auto: Demande", "Abwesenheitsnotiz: Demande",
          "=?utf-8?q?R=C3=A9ponse_automatique_=3A_Demande?="}) {
        std::string bytes =
            crlf(std::string("From: jeanne@example.org\nSubject: ") + subject + "\n\nAbsent\n");
        MailResult<Message> m = parse(bytes, ParseLimits{});
        ASSERT_TRUE(m.ok());
        Classification c = classify(m.value(), citizen_envelope(), gateway_config());
        EXPECT_EQ(c.mail_class, MailClass::auto_reply) << subject;
        EXPECT_NE(c.reason.find("subject starts with"), std::string::npos) << c.reason;
    }
    for (const char* subject :
         {"Re: Out of Office hours?", "Automobile", "Question sur l'absence"}) {
        std::string bytes =
            crlf(std::string("From: jeanne@example.org\nSubject: ") + subject + "\n\nQuestion\n");
        MailResult<Message> m = parse(bytes, ParseLimits{});
        ASSERT_TRUE(m.ok());
        EXPECT_EQ(classify(m.value(), citizen_envelope(), gateway_config()).mail_class,
                  MailClass::human)
            << subject;
    }
}

TEST(Classify, LoopHeaderNameIsTheSharedConstant) {
    EXPECT_EQ(headers::loop, "X-Referent-Loop");
}

TEST(Classify, ClassNames) {
    EXPECT_EQ(to_string(MailClass::human), "human");
    EXPECT_EQ(to_string(MailClass::auto_reply), "auto-reply");
    EXPECT_EQ(to_string(MailClass::bounce), "bounce");
    EXPECT_EQ(to_string(MailClass::bulk), "bulk");
    EXPECT_EQ(to_string(MailClass::loop), "loop");
}

// Written as real clients write them: all must reach a referent.
TEST(Classify, HumanMessagesFromRealClients) {
    std::vector<std::string> files = eml_files(test::source_path("tests/mail/messages"));
    ASSERT_GE(files.size(), 12u);
    for (const std::string& file : files) {
        MailResult<Message> m = parse(read_file(file), ParseLimits{});
        ASSERT_TRUE(m.ok()) << file;
        EnvelopeInfo envelope = citizen_envelope();
        envelope.mail_from = m->from()->address;
        Classification c = classify(m.value(), envelope, gateway_config());
        EXPECT_EQ(c.mail_class, MailClass::human) << file << ": " << c.reason;
    }
}

bool has_report_part(const Message& m) {
    for (const PartInfo& p : m.parts())
        if (!p.in_attached_message && p.content_type == "message/delivery-status") return true;
    return false;
}

// A file of the corpus has no envelope: its Return-Path stands in (referentctl does the same).
EnvelopeInfo envelope_of(const Message& m) {
    EnvelopeInfo e;
    if (std::optional<std::string> rp = m.raw_header("Return-Path")) {
        std::size_t lt = rp->find('<'), gt = rp->rfind('>');
        if (lt != std::string::npos && gt != std::string::npos && gt > lt)
            e.mail_from = rp->substr(lt + 1, gt - lt - 1);
    }
    return e;
}

TEST(Classify, EveryCorpusBounceIsMachineMail) {
    std::vector<std::string> files = eml_files(test::bounce_corpus_dir());
    if (files.empty()) GTEST_SKIP() << "no corpus at " << test::bounce_corpus_dir();
    // A person forwarding a bounce from Apple Mail ("Fwd: Returned mail", no automation
    // header, the bounce quoted as text): human by section I, and rightly so.
    const std::string forwarded_by_a_person = "lhost-sendmail-14.eml";
    // Postfix's "Delivery report unavailable": a report part with no per-recipient fields.
    const std::string report_without_recipients = "lhost-postfix-64.eml";
    int checked_reports = 0;
    for (const std::string& file : files) {
        MailResult<Message> m = parse(read_file(file), ParseLimits{});
        ASSERT_TRUE(m.ok()) << file << ": " << m.refusal().reason;
        Classification c = classify(m.value(), envelope_of(m.value()), gateway_config());
        EXPECT_FALSE(c.reason.empty()) << file;
        if (file.ends_with(forwarded_by_a_person)) {
            EXPECT_EQ(c.mail_class, MailClass::human) << file;
            continue;
        }
        EXPECT_TRUE(c.mail_class == MailClass::bounce || c.mail_class == MailClass::auto_reply)
            << file << ": " << to_string(c.mail_class) << " (" << c.reason << ")";
        if (!has_report_part(m.value()) || file.ends_with(report_without_recipients)) continue;
        ASSERT_TRUE(c.bounce) << file;
        EXPECT_FALSE(c.bounce->status.empty()) << file;
        EXPECT_FALSE(c.bounce->final_recipient.empty()) << file;
        EXPECT_EQ(c.bounce->source, "message/delivery-status") << file;
        ++checked_reports;
    }
    EXPECT_GT(checked_reports, 150);
}

}  // namespace
}  // namespace referent::mail
