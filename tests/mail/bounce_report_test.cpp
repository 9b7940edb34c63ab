// What a bounce tells the case: from delivery reports (RFC 3464, RFC 6533), from the attached
// original, and from the text of bounces written for humans.
#include "mail/bounce_report.hpp"

#include <gtest/gtest.h>

#include "mail_fixtures.hpp"

namespace referent::mail {
namespace {

using test::crlf;

BounceReport report_of(const std::string& text) {
    MailResult<Message> m = parse(crlf(text), ParseLimits{});
    if (!m) {
        ADD_FAILURE() << m.refusal().reason;
        return {};
    }
    return extract_bounce_report(m.value());
}

BounceReport report_of_corpus(const char* name) {
    std::string bytes = test::read_file(test::bounce_corpus_dir() + "/" + name);
    MailResult<Message> m = parse(bytes, ParseLimits{});
    if (!m) {
        ADD_FAILURE() << name << ": " << m.refusal().reason;
        return {};
    }
    return extract_bounce_report(m.value());
}

TEST(BounceReport, DeliveryStatusChoosesTheFailedRecipient) {
    BounceReport r = report_of(
        "From: MAILER-DAEMON@mx.example.org\nTo: etat-civil@mairie-exemple.fr\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=r\n\n"
        "--r\nContent-Type: text/plain\n\nSorry.\n"
        "--r\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; mx.example.org\nArrival-Date: Mon, 3 Feb 2025 10:00:00 +0100\n\n"
        "Final-Recipient: rfc822; fine@example.net\nAction: delayed\nStatus: 4.4.1\n\n"
        "Original-Recipient: rfc822;old@example.net\nFinal-Recipient: RFC822; <gone@example.net>\n"
        "Action: failed\nStatus: 5.1.1 (user unknown)\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <gone@example.net>: Recipient address\n"
        "  rejected: User unknown\n"
        "--r\nContent-Type: text/rfc822-headers\n\nFrom: etat-civil@mairie-exemple.fr\n"
        "Message-ID: <20250203.42@referent.mairie-exemple.fr>\nSubject: Votre demande\n--r--\n");
    EXPECT_EQ(r.source, "message/delivery-status");
    EXPECT_EQ(r.action, "failed");
    EXPECT_EQ(r.status, "5.1.1");
    EXPECT_EQ(r.final_recipient, "gone@example.net");
    EXPECT_EQ(r.diagnostic_code,
              "550 5.1.1 <gone@example.net>: Recipient address rejected: User unknown");
    EXPECT_EQ(r.original_message_id, "20250203.42@referent.mairie-exemple.fr");
    EXPECT_EQ(r.recipients, (std::vector<std::string>{"fine@example.net", "gone@example.net"}));
}

TEST(BounceReport, GlobalDeliveryStatusInUtf8) {
    BounceReport r = report_of(
        "From: postmaster@mx.exemple.fr\n"
        "Content-Type: multipart/report; report-type=global-delivery-status; boundary=g\n\n"
        "--g\nContent-Type: text/plain; charset=utf-8\n\nNon remis.\n"
        "--g\nContent-Type: message/global-delivery-status\nContent-Transfer-Encoding: 8bit\n\n"
        "Reporting-MTA: dns; mx.exemple.fr\n\n"
        "Final-Recipient: utf-8; jos\xC3\xA9@exemple.fr\nAction: failed\nStatus: 5.1.1\n"
        "--g\nContent-Type: message/global-headers\n\n"
        "From: etat-civil@mairie-exemple.fr\nMessage-ID: <g1@referent.mairie-exemple.fr>\n"
        "--g--\n");
    EXPECT_EQ(r.source, "message/global-delivery-status");
    EXPECT_EQ(r.final_recipient, "jos\xC3\xA9@exemple.fr");
    EXPECT_EQ(r.status, "5.1.1");
    EXPECT_EQ(r.original_message_id, "g1@referent.mairie-exemple.fr");
}

TEST(BounceReport, AttachedOriginalMessage) {
    BounceReport r = report_of(
        "From: MAILER-DAEMON@mx.example.org\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=r\n\n"
        "--r\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; mx.example.org\n\nFinal-Recipient: rfc822;a@example.net\n"
        "Action: failed\nStatus: 5.2.2\n"
        "--r\nContent-Type: message/rfc822\n\nFrom: etat-civil@mairie-exemple.fr\n"
        "Message-Id: <orig-7@referent.mairie-exemple.fr>\n\nBonjour\n--r--\n");
    EXPECT_EQ(r.original_message_id, "orig-7@referent.mairie-exemple.fr");
    EXPECT_EQ(r.final_recipient, "a@example.net");
    EXPECT_EQ(r.diagnostic_code, "");
}

TEST(BounceReport, EximTextAndXFailedRecipients) {
    BounceReport r = report_of(
        "From: Mail Delivery System <Mailer-Daemon@mx.example.org>\n"
        "To: etat-civil@mairie-exemple.fr\nX-Failed-Recipients: gone@example.net, "
        "other@example.net\n"
        "Subject: Mail delivery failed: returning message to sender\n\n"
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of its\n"
        "recipients. This is a permanent error. The following address(es) failed:\n\n"
        "  gone@example.net\n    host mx.example.net [192.0.2.25]\n"
        "    SMTP error from remote mail server after RCPT TO:<gone@example.net>:\n"
        "    550 5.1.1 <gone@example.net>: Recipient address rejected\n\n"
        "------ This is a copy of the message, including all the headers. ------\n\n"
        "Message-Id: <x9@referent.mairie-exemple.fr>\nFrom: etat-civil@mairie-exemple.fr\n");
    EXPECT_EQ(r.source, "text");
    EXPECT_EQ(r.final_recipient, "gone@example.net");
    EXPECT_EQ(r.recipients, (std::vector<std::string>{"gone@example.net", "other@example.net"}));
    EXPECT_EQ(r.status, "5.1.1");
    EXPECT_EQ(r.action, "failed");
    EXPECT_EQ(r.diagnostic_code, "550 5.1.1 <gone@example.net>: Recipient address rejected");
    EXPECT_EQ(r.original_message_id, "x9@referent.mairie-exemple.fr");
}

TEST(BounceReport, TextWithoutStatusCode) {
    BounceReport r = report_of(
        "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\n"
        "To: etat-civil@mairie-exemple.fr\n\n"
        "Delivery to the following recipient has been delayed:\n\n     late@example.net\n\n"
        "Message will be retried for 2 more day(s)\n");
    EXPECT_EQ(r.final_recipient, "late@example.net");
    EXPECT_EQ(r.status, "");
    EXPECT_EQ(r.action, "delayed");
    EXPECT_EQ(r.original_message_id, "");
}

TEST(BounceReport, HtmlOnlyBounce) {
    BounceReport r = report_of(
        "From: Mail Delivery System <mailer-daemon@mx.example.org>\nTo: a@mairie-exemple.fr\n"
        "Content-Type: text/html; charset=utf-8\n\n"
        "<html><head><style>p { color: red } @media x {}</style></head><body><p>Failed:"
        "</p><p>&lt;gone&#64;example.net&gt;</p><p>550 5.1.1 mailbox "
        "unavailable</p></body></html>\n");
    EXPECT_EQ(r.final_recipient, "gone@example.net");
    EXPECT_EQ(r.status, "5.1.1");
    EXPECT_EQ(r.diagnostic_code, "550 5.1.1 mailbox unavailable");
}

TEST(BounceReport, ValuesAreSanitisedAndBounded) {
    std::string long_diag(1000, 'd');
    BounceReport r = report_of(
        "From: MAILER-DAEMON@mx.example.org\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; mx.example.org\n\nFinal-Recipient: rfc822; a@example.net\n"
        "Action: failed\nStatus: 5.0.0\nDiagnostic-Code: smtp; " +
        long_diag + "\n");
    EXPECT_EQ(r.diagnostic_code.size(), 300u);
}

TEST(BounceReport, CorpusSamples) {
    if (test::eml_files(test::bounce_corpus_dir()).empty()) GTEST_SKIP() << "no corpus";
    BounceReport sendmail = report_of_corpus("rfc3464-01.eml");
    EXPECT_EQ(sendmail.status, "5.1.1");
    EXPECT_EQ(sendmail.final_recipient, "userunknown@bouncehammer.jp");
    EXPECT_EQ(sendmail.original_message_id, "E1C50F1B-1C83-4820-BC36-AC6FBFBE8568@example.org");
    BounceReport gmail = report_of_corpus("lhost-gmail-01.eml");
    EXPECT_EQ(gmail.source, "text");
    EXPECT_EQ(gmail.final_recipient, "userunknown@example.jp");
    EXPECT_EQ(gmail.status, "5.1.1");
    BounceReport exim = report_of_corpus("lhost-exim-01.eml");
    EXPECT_EQ(exim.final_recipient, "kijitora@example.ed.jp");
    EXPECT_EQ(exim.status, "5.7.0");
    EXPECT_EQ(exim.original_message_id, "E1P1ce6-000Egt-GZ@e1.example.org");
    BounceReport opensmtpd = report_of_corpus("lhost-opensmtpd-02.eml");
    EXPECT_EQ(opensmtpd.final_recipient, "mailboxfull@example.jp");
    EXPECT_EQ(opensmtpd.status, "5.2.2");
    BounceReport office = report_of_corpus("lhost-office365-04.eml");
    EXPECT_EQ(office.status, "5.1.351");
    EXPECT_EQ(office.source, "message/delivery-status");
}

}  // namespace
}  // namespace referent::mail
