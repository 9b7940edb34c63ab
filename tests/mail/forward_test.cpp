// Forwarding a citizen's message to the referent: headers, banner, untouched attachments,
// wrapped originals, and golden files across clients (tests/mail/golden/forward_*).
#include "mail/forward.hpp"

#include <gtest/gtest.h>

#include "golden.hpp"
#include "mail/banner_marker.hpp"
#include "mail/headers.hpp"
#include "render_fixture.hpp"

namespace referent::mail {
namespace {

using test::crlf;
using test::only_crlf;
using test::reparsed;

ForwardInput input(const std::string& language, const Mailbox& citizen) {
    ForwardInput in;
    in.case_number = "EC-2026-000042";
    in.citizen = citizen;
    in.referent_address = "marie.lambert@agents.mairie.example.gov";
    in.agent_reply_address = "r-7f3a9c@reponse.mairie.example.gov";
    in.earlier_forward_ids = {"fwd-1@gw.mairie.example.gov", "fwd-2@gw.mairie.example.gov"};
    in.gateway_hostname = "gw.mairie.example.gov";
    in.message_id_token = "fwd-3";
    in.date = test::fixed_date();
    in.templates = &test::templates(language);
    in.context = sample_context(language, Sample::full);
    in.context.absence.reset();  // the referent reads their own mail
    in.context.case_->number = in.case_number;
    in.context.case_->citizen = {citizen.display_name, citizen.address};
    in.context.case_->earlier_messages = 2;
    return in;
}

struct Forwarded {
    std::string bytes;
    Message message;
};

Forwarded forward_ok(const std::string& raw, const std::string& language = "fr") {
    Message msg = reparsed(raw);
    Mailbox citizen = msg.from().ok() ? msg.from().value() : Mailbox{};
    MailResult<std::string> r = forward(msg, raw, input(language, citizen));
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.refusal().reason);
    std::string bytes = r.ok() ? r.value() : std::string("From: x@y\r\n\r\n");
    return {bytes, reparsed(bytes)};
}

const std::string simple = crlf(
    "From: =?utf-8?q?=C3=89lodie_Marchand?= <elodie@example.fr>\n"
    "To: service@example.gov\nCc: other@example.fr\nSubject: Livret de famille\n"
    "Date: Mon, 02 Mar 2026 10:00:00 +0100\nMessage-ID: <orig@example.fr>\n"
    "References: <a@example.fr>\nReceived: from x by y\nReturn-Path: <elodie@example.fr>\n"
    "ARC-Seal: i=1; a=rsa-sha256\nAuthentication-Results: mx; spf=pass\n"
    "Return-Receipt-To: elodie@example.fr\nX-Referent-Loop: gw.mairie.example.gov\n"
    "X-Mailer: Apple Mail (2.3731)\n"
    "Content-Type: text/plain; charset=utf-8\n\nBonjour,\nje voudrais un duplicata.\n");

TEST(Forward, HeadersAsTheIssueSays) {
    Forwarded f = forward_ok(simple);
    const Message& m = f.message;
    ASSERT_TRUE(m.from().ok());
    EXPECT_EQ(m.from()->display_name, "Élodie Marchand (EC-2026-000042)");
    EXPECT_EQ(m.from()->address, "r-7f3a9c@reponse.mairie.example.gov");
    EXPECT_EQ(m.header("Reply-To"), m.header("From"));
    EXPECT_EQ(m.raw_header("To"), "<marie.lambert@agents.mairie.example.gov>");
    EXPECT_EQ(m.subject(), "[EC-2026-000042] Livret de famille");
    EXPECT_EQ(m.message_id(), "fwd-3@gw.mairie.example.gov");
    EXPECT_EQ(m.in_reply_to(), std::vector<std::string>{"fwd-2@gw.mairie.example.gov"});
    EXPECT_EQ(m.references().size(), 2u);
    EXPECT_EQ(m.raw_header(headers::case_number), "EC-2026-000042");
    EXPECT_EQ(m.raw_headers(headers::loop), std::vector<std::string>{"gw.mairie.example.gov"});
    EXPECT_EQ(m.raw_header(headers::auto_response_suppress), "OOF, AutoReply");
    EXPECT_EQ(m.raw_header("Date"), "Wed, 04 Mar 2026 09:30:00 +0000");
    EXPECT_EQ(m.raw_header("X-Original-Date"), "Mon, 02 Mar 2026 10:00:00 +0100");
    EXPECT_EQ(m.raw_header("X-Mailer"), "Apple Mail (2.3731)");
    for (const char* gone : {"Cc", "Received", "Return-Path", "ARC-Seal", "Authentication-Results",
                             "Return-Receipt-To", "References-Orig"})
        EXPECT_EQ(m.header_count(gone), 0u) << gone;
    for (const char* one : {"From", "Reply-To", "To", "Subject", "Date", "Message-ID",
                            "MIME-Version", "X-Referent-Case", "X-Referent-Loop"})
        EXPECT_EQ(m.header_count(one), 1u) << one;
    EXPECT_TRUE(only_crlf(f.bytes));
}

TEST(Forward, BannerAtopTheTextWithMarkers) {
    Forwarded f = forward_ok(simple);
    auto body = f.message.body_text();
    ASSERT_TRUE(body);
    EXPECT_EQ(body->text.rfind(banner_begin("EC-2026-000042"), 0), 0u);
    EXPECT_NE(body->text.find(banner_end("EC-2026-000042")), std::string::npos);
    EXPECT_NE(body->text.find("je voudrais un duplicata."), std::string::npos);
    EXPECT_EQ(f.message.parts()[0].charset, "utf-8");
}

TEST(Forward, E3DisplayNameWithSpecialsIsOneMailbox) {
    std::string raw = crlf(
        "From: \"Dupont, Jean (Service \\\"Permis\\\")\" <jean@example.org>\nSubject: "
        "x\n\nhello\n");
    Forwarded f = forward_ok(raw);
    ASSERT_TRUE(f.message.from().ok());
    EXPECT_EQ(f.message.from()->display_name, "Dupont, Jean (Service \"Permis\") (EC-2026-000042)");
}

TEST(Forward, TagNeverDoubled) {
    std::string raw = crlf("From: a@example.org\nSubject: Re: [ec-2026-000042] suite\n\nhello\n");
    EXPECT_EQ(forward_ok(raw).message.subject(), "Re: [ec-2026-000042] suite");
}

TEST(Forward, E4EncodedCrLfInSubjectStaysOneHeader) {
    std::string raw =
        crlf("From: a@example.org\nSubject: =?UTF-8?Q?hi=0D=0ABcc:_x@evil.example?=\n\nhello\n");
    Forwarded f = forward_ok(raw);
    EXPECT_EQ(f.message.header_count("Bcc"), 0u);
    EXPECT_EQ(f.bytes.find("\r\nBcc:"), std::string::npos);
}

TEST(Forward, RefusesCrLfInValuesItWrites) {
    Message msg = reparsed(simple);
    ForwardInput in = input("fr", {"Eve\r\nBcc: victim@example.net", "eve@example.net"});
    MailResult<std::string> r = forward(msg, simple, in);
    ASSERT_FALSE(r.ok());
    in = input("fr", {"Eve", "eve@example.net"});
    in.referent_address = std::string("a@b\0c", 5);
    EXPECT_FALSE(forward(msg, simple, in).ok());
}

TEST(Forward, AttachmentsIdenticalAfterDecoding) {
    std::string raw =
        test::read_file(test::source_path("tests/mail/messages/outlook_en_attachment.eml"));
    Message in = reparsed(raw);
    Forwarded f = forward_ok(raw, "en");
    ASSERT_EQ(in.parts().size(), f.message.parts().size());
    for (std::size_t i = 0; i < in.parts().size(); ++i) {
        if (!in.parts()[i].attachment) continue;
        EXPECT_EQ(in.content(i), f.message.content(i)) << i;
    }
}

TEST(Forward, AttachedMessageIsNotTheCitizensText) {
    Forwarded f = forward_ok(
        test::read_file(test::golden_dir() + "/forward_attached_message_en.in.eml"), "en");
    std::size_t banners = 0;
    for (std::size_t i = 0; i < f.message.parts().size(); ++i)
        if (auto t = f.message.text(i);
            t && t->find(banner_begin("EC-2026-000042")) != std::string::npos)
            ++banners;
    EXPECT_EQ(banners, 1u);
    EXPECT_NE(f.bytes.find("The rent rises. This text/plain is not Anna's own text.\r\n"),
              std::string::npos);
}

TEST(Forward, BareLfPreambleAndDotLinesLeaveAsCrlf) {
    std::string raw =
        "From: a@example.org\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=b\r\n\r\npre\namble\r\n--b\r\n"
        "Content-Type: text/plain\r\n\r\n.\r\nbody\r\n--b--\r\nepi\nlogue\n";
    Forwarded f = forward_ok(raw);
    EXPECT_TRUE(only_crlf(f.bytes));
    EXPECT_NE(f.bytes.find("\r\n.\r\nbody"), std::string::npos);  // not stuffed: the relay does
}

TEST(Forward, DamagedMessageIsWrappedUntouched) {
    std::string raw = crlf(
        "From: a@example.org\nSubject: broken\nMIME-Version: 1.0\n"
        "Content-Type: multipart/mixed\n\n--x\nContent-Type: text/plain\n\nlost?\n--x--\n");
    Message msg = reparsed(raw);
    ASSERT_TRUE(msg.refuse_rewrite());
    MailResult<std::string> r = forward(msg, raw, input("fr", {"", "a@example.org"}));
    ASSERT_TRUE(r.ok());
    EXPECT_NE(r.value().find(raw), std::string::npos);
    Message out = reparsed(r.value());
    EXPECT_TRUE(out.raw_header("X-Referent-Wrapped"));
    EXPECT_EQ(out.subject(), "[EC-2026-000042] broken");
    bool attached = false;
    for (const PartInfo& p : out.parts()) attached = attached || p.content_type == "message/rfc822";
    EXPECT_TRUE(attached);
    EXPECT_TRUE(only_crlf(r.value()));
}

TEST(Forward, WrappedBareLfOriginalIsBase64ByteExact) {
    std::string raw = "From: a@example.org\nSubject: lf\n\nbody\n";
    MailResult<std::string> r =
        forward_wrapped(raw, input("en", {"", "a@example.org"}), "no_header", "");
    ASSERT_TRUE(r.ok());
    Message out = reparsed(r.value());
    bool found = false;
    for (std::size_t i = 0; i < out.parts().size(); ++i)
        if (out.parts()[i].filename == "original.eml") {
            EXPECT_EQ(out.content(i), raw);
            found = true;
        }
    EXPECT_TRUE(found);
}

TEST(Forward, Golden) {
    std::vector<std::string> files = test::golden_inputs("forward_");
    ASSERT_GE(files.size(), 15u);
    for (const std::string& path : files) {
        SCOPED_TRACE(path);
        std::string raw = test::read_file(path);
        Forwarded f = forward_ok(raw, test::language_of(path));
        EXPECT_TRUE(only_crlf(f.bytes));
        test::expect_golden(path, f.bytes);
        ASSERT_TRUE(f.message.from().ok());
        test::write_sidecar(path, f.message.from()->display_name, f.message.from()->address,
                            {{"From", 1},
                             {"Reply-To", 1},
                             {"To", 1},
                             {"Subject", 1},
                             {"Message-ID", 1},
                             {"Date", 1},
                             {"MIME-Version", 1},
                             {"X-Referent-Case", 1},
                             {"X-Referent-Loop", 1},
                             {"X-Auto-Response-Suppress", 1},
                             {"Received", 0},
                             {"DKIM-Signature", 0},
                             {"Cc", 0},
                             {"Bcc", 0}});
    }
}

}  // namespace
}  // namespace referent::mail
