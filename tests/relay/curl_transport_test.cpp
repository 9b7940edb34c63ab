// tests/relay/curl_transport_test.cpp — CurlTransport over real sockets against the scripted
// server of smtp_server.hpp: what the relay receives (byte for byte, and the conversation as
// C:/S: lines), what each answer of the relay becomes (delivered / temporary / permanent), the
// bounds (connect and transaction timeouts), AUTH, STARTTLS and smtps with verification.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include "relay/curl_transport.hpp"
#include "relay/transport.hpp"
#include "smtp_server.hpp"
#include "spool/temp_dir.hpp"

namespace referent::relay::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using referent::test::TempDir;
using namespace std::string_literals;

// libcurl is told to leave signals alone: like referentd, this binary ignores SIGPIPE.
const struct IgnoreSigpipe {
    IgnoreSigpipe() { std::signal(SIGPIPE, SIG_IGN); }
} kIgnoreSigpipe;

const std::string kHostname = "gw.example.fr";
const std::string kFrom = "anne@staff.example.fr";
const std::string kRcpt = "citoyen@example.net";
const std::string kLetter =
    "From: Anne <anne@staff.example.fr>\r\n"
    "To: <citoyen@example.net>\r\n"
    "Subject: =?UTF-8?Q?Votre_demande_d=E2=80=99acte?=\r\n"
    "Content-Type: text/plain; charset=UTF-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    ".Une ligne qui commence par un point\r\n"
    ".\r\n"
    "..\r\n"
    "Bonjour Hélène, ça va ? — 日本語 ✓\r\n";

OutboundMessage message(std::string bytes = kLetter, std::string from = kFrom) {
    return {"q1", std::move(from), kRcpt, std::move(bytes)};
}

config::Relay relay_for(const SmtpServer& server,
                        config::StartTls starttls = config::StartTls::opportunistic) {
    config::Relay r;
    r.url = server.url();
    r.starttls = starttls;
    r.connect_timeout = 5s;
    r.timeout = 10s;  // never reached by a passing test: it only keeps a failing one short
    return r;
}

std::unique_ptr<Transport> make(const config::Relay& relay) {
    auto t = make_transport(relay, kHostname);
    EXPECT_TRUE(t.ok()) << t.error().message;
    return t.ok() ? std::move(t).value() : nullptr;
}

// A transport that trusts the test certificate, to reach `url`.
std::unique_ptr<Transport> make_trusting(const TestCertificate& cert, const std::string& url,
                                         config::StartTls starttls) {
    config::Relay relay;
    relay.url = url;
    relay.starttls = starttls;
    relay.timeout = 10s;
    auto settings = curl_settings(relay, kHostname);
    EXPECT_TRUE(settings.ok());
    settings->ca_file = cert.cert_file();
    auto t = CurlTransport::create(std::move(settings).value());
    EXPECT_TRUE(t.ok());
    return t.ok() ? std::unique_ptr<Transport>(std::move(t).value()) : nullptr;
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

// --- what the relay receives --------------------------------------------------------------

TEST(CurlTransport, RelayReceivesTheBytesExactly) {
    SmtpServer server;
    auto transport = make(relay_for(server));
    ASSERT_TRUE(transport);
    const DeliveryResult r = transport->deliver(message());
    EXPECT_EQ(r.outcome, Outcome::delivered);
    EXPECT_EQ(r.reply, "250 2.0.0 Ok: queued as Q1");
    const auto got = server.messages();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].data, kLetter);  // dot-stuffed on the wire, un-stuffed by the server
    EXPECT_EQ(got[0].mail_from, "<anne@staff.example.fr>");
    EXPECT_EQ(got[0].rcpts, std::vector<std::string>{"<citoyen@example.net>"});
    EXPECT_EQ(got[0].helo, kHostname);
    EXPECT_FALSE(got[0].tls);
}

TEST(CurlTransport, ConversationOfTwoMessagesOnOneConnection) {
    SmtpServer server;
    const std::string second = "Subject: avis\r\n\r\nAccusé de réception.\r\n";
    {
        auto transport = make(relay_for(server));
        ASSERT_TRUE(transport);
        EXPECT_EQ(transport->deliver(message()).outcome, Outcome::delivered);
        EXPECT_EQ(transport->deliver(message(second, "")).outcome, Outcome::delivered);
    }  // the transport says QUIT and waits for the answer
    const std::string size1 = std::to_string(kLetter.size());
    const std::string size2 = std::to_string(second.size());
    std::vector<std::string> got = server.conversation();
    if (!got.empty() && got.back() == "-- closed") got.pop_back();
    EXPECT_EQ(got, (std::vector<std::string>{
                       "S: 220 test.example ESMTP scripted",
                       "C: EHLO gw.example.fr",
                       "S: 250-test.example",
                       "S: 250-SIZE 52428800",
                       "S: 250-8BITMIME",
                       "S: 250 ENHANCEDSTATUSCODES",
                       "C: MAIL FROM:<anne@staff.example.fr> SIZE=" + size1,
                       "S: 250 2.1.0 Ok",
                       "C: RCPT TO:<citoyen@example.net>",
                       "S: 250 2.1.5 Ok",
                       "C: DATA",
                       "S: 354 End data with <CR><LF>.<CR><LF>",
                       "C: <" + size1 + " octets>",
                       "C: .",
                       "S: 250 2.0.0 Ok: queued as Q1",
                       "C: MAIL FROM:<> SIZE=" + size2,  // the null sender
                       "S: 250 2.1.0 Ok",
                       "C: RCPT TO:<citoyen@example.net>",
                       "S: 250 2.1.5 Ok",
                       "C: DATA",
                       "S: 354 End data with <CR><LF>.<CR><LF>",
                       "C: <" + size2 + " octets>",
                       "C: .",
                       "S: 250 2.0.0 Ok: queued as Q2",
                       "C: QUIT",
                       "S: 221 2.0.0 Bye",
                   }));
    EXPECT_EQ(server.connections(), 1);
    ASSERT_EQ(server.messages().size(), 2u);
    EXPECT_EQ(server.messages()[1].mail_from, "<>");
    EXPECT_EQ(server.messages()[1].data, second);
}

// 2 MiB of lines of every length from 0 to 99 octets, every seventh starting with a dot and
// some made of dots only, so stuffing is tested across libcurl's buffer boundaries.
std::string big_message() {
    std::string out = "Subject: gros\r\n\r\n";
    for (std::size_t i = 0; out.size() < (2u << 20); ++i) {
        if (i % 7 == 0) out += '.';
        if (i % 31 == 0) out += "..";
        out.append(i % 100, static_cast<char>('a' + i % 26));
        if (i % 11 == 0) out += "é€";
        out += "\r\n";
    }
    return out;
}

TEST(CurlTransport, TwoMebibytesWithDotLinesArriveExactly) {
    SmtpServer server;
    auto transport = make(relay_for(server));
    ASSERT_TRUE(transport);
    const std::string bytes = big_message();
    ASSERT_GE(bytes.size(), 2u << 20);
    EXPECT_EQ(transport->deliver(message(bytes)).outcome, Outcome::delivered);
    const auto got = server.messages();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].data.size(), bytes.size());
    EXPECT_TRUE(got[0].data == bytes);  // not EXPECT_EQ: a 2 MiB diff helps nobody
    EXPECT_EQ(got[0].mail_params, "SIZE=" + std::to_string(bytes.size()));
}

// SMTP needs the data to end with a line end: libcurl adds the CRLF the last line lacks.
TEST(CurlTransport, LastLineWithoutCrlfGetsOne) {
    SmtpServer server;
    auto transport = make(relay_for(server));
    ASSERT_TRUE(transport);
    EXPECT_EQ(transport->deliver(message("Subject: x\r\n\r\nno line end")).outcome,
              Outcome::delivered);
    ASSERT_EQ(server.messages().size(), 1u);
    EXPECT_EQ(server.messages()[0].data, "Subject: x\r\n\r\nno line end\r\n");
}

TEST(CurlTransport, ReusesOneConnectionForManyMessages) {
    SmtpServer server;
    auto transport = make(relay_for(server));
    ASSERT_TRUE(transport);
    for (int i = 0; i < 5; ++i)
        EXPECT_EQ(transport->deliver(message()).outcome, Outcome::delivered) << i;
    EXPECT_EQ(server.messages().size(), 5u);
    EXPECT_EQ(server.connections(), 1);
}

TEST(CurlTransport, ReconnectsWhenTheRelayClosedAnIdleConnection) {
    Script script;
    script.close_after_message = true;  // as a relay's idle timeout would
    SmtpServer server(script);
    auto transport = make(relay_for(server));
    ASSERT_TRUE(transport);
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(transport->deliver(message()).outcome, Outcome::delivered) << i;
    EXPECT_EQ(server.messages().size(), 3u);
    EXPECT_EQ(server.connections(), 3);
}

TEST(CurlTransport, NextMessageStartsCleanAfterARefusal) {
    Script script;
    script.at[At::rcpt] = {"550 5.1.1 <citoyen@example.net>: Recipient address rejected"};
    script.at[At::rcpt].times = 1;
    SmtpServer server(script);
    auto transport = make(relay_for(server));
    ASSERT_TRUE(transport);
    EXPECT_EQ(transport->deliver(message()).outcome, Outcome::permanent);
    EXPECT_EQ(transport->deliver(message()).outcome, Outcome::delivered);
    const auto got = server.messages();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].rcpts.size(), 1u);
    EXPECT_EQ(got[0].data, kLetter);
}

// --- what each answer of the relay becomes ------------------------------------------------

struct AnswerCase {
    std::string name;
    At at;
    Act act;
    Outcome want;
    std::string reply;  // the DeliveryResult's reply contains this
};

std::ostream& operator<<(std::ostream& os, const AnswerCase& c) {
    return os << c.name;
}

std::vector<AnswerCase> answer_cases() {
    const Outcome temp = Outcome::temporary;
    const Outcome perm = Outcome::permanent;
    return {
        {"rcpt_450",
         At::rcpt,
         {"450 4.2.1 Mailbox busy"},
         temp,
         "450 4.2.1 Mailbox busy (reply to RCPT)"},
        {"rcpt_550",
         At::rcpt,
         {"550 5.1.1 <citoyen@example.net>: unknown user"},
         perm,
         "550 5.1.1 <citoyen@example.net>: unknown user (reply to RCPT)"},
        {"mail_451", At::mail, {"451 4.3.0 Try again later"}, temp, "451 4.3.0"},
        {"mail_553",
         At::mail,
         {"553 5.7.1 Sender address rejected"},
         perm,
         "553 5.7.1 Sender address rejected (reply to MAIL)"},
        // Authentication required: the gateway's configuration, fixed by the operator.
        {"mail_530", At::mail, {"530 5.7.0 Authentication required"}, temp, "530 5.7.0"},
        {"data_554",
         At::data,
         {"554 5.5.1 No valid recipients"},
         perm,
         "554 5.5.1 No valid recipients (reply to DATA)"},
        {"end_of_data_552",
         At::end_of_data,
         {"552 5.3.4 Message too big"},
         perm,
         "552 5.3.4 Message too big (reply to DATA)"},
        {"end_of_data_550", At::end_of_data, {"550 5.7.1 Spam"}, perm, "550 5.7.1 Spam"},
        {"end_of_data_451",
         At::end_of_data,
         {"451 4.3.0 Queue file write error"},
         temp,
         "451 4.3.0 Queue file write error (reply to DATA)"},
        {"greeting_554",
         At::greeting,
         {"554 5.3.2 No service"},
         temp,
         "554 5.3.2 No service (reply to the greeting)"},
        {"greeting_421_close",
         At::greeting,
         {"421 4.3.2 Too busy", true},
         temp,
         "421 4.3.2 Too busy"},
        {"ehlo_and_helo_502", At::ehlo, {"502 5.5.2 No"}, temp, "502 5.5.2 No (reply to EHLO)"},
        {"mail_421_close",
         At::mail,
         {"421 4.3.2 Shutting down", true},
         temp,
         "421 4.3.2 Shutting down (reply to MAIL)"},
        {"rcpt_421_close", At::rcpt, {"421 4.4.2 Timeout", true}, temp, "421 4.4.2 Timeout"},
        {"rcpt_close_without_reply", At::rcpt, {"", true}, temp, "(after RCPT)"},
        {"data_close_without_reply", At::data, {"", true}, temp, "(after DATA)"},
        {"end_of_data_close_without_reply", At::end_of_data, {"", true}, temp, "(after DATA)"},
        {"greeting_close_without_reply", At::greeting, {"", true}, temp, "(connecting)"},
    };
}

class RelayAnswer : public ::testing::TestWithParam<AnswerCase> {};

TEST_P(RelayAnswer, BecomesTheRightOutcome) {
    const AnswerCase& c = GetParam();
    Script script;
    script.at[c.at] = c.act;
    SmtpServer server(script);
    auto transport = make(relay_for(server));
    ASSERT_TRUE(transport);
    const DeliveryResult r = transport->deliver(message());
    EXPECT_EQ(to_string(r.outcome), std::string(to_string(c.want)));
    EXPECT_TRUE(contains(r.reply, c.reply)) << r.reply;
}

std::string answer_name(const ::testing::TestParamInfo<AnswerCase>& p) {
    return p.param.name;
}

INSTANTIATE_TEST_SUITE_P(Table, RelayAnswer, ::testing::ValuesIn(answer_cases()), answer_name);

// --- connections that fail, and the bounds ---------------------------------------------------

TEST(CurlTransport, RefusedConnectionIsTemporary) {
    config::Relay relay;
    relay.url = "smtp://127.0.0.1:" + std::to_string(closed_port());
    relay.connect_timeout = 2s;
    relay.timeout = 10s;
    auto transport = make(relay);
    ASSERT_TRUE(transport);
    const DeliveryResult r = transport->deliver(message());
    EXPECT_EQ(r.outcome, Outcome::temporary);
    EXPECT_TRUE(contains(r.reply, "(connecting)")) << r.reply;
}

TEST(CurlTransport, UnknownHostIsTemporary) {
    config::Relay relay;
    relay.url = "smtp://relay.referent-test.invalid:25";  // RFC 2606: never resolves
    relay.connect_timeout = 2s;
    relay.timeout = 10s;
    auto transport = make(relay);
    ASSERT_TRUE(transport);
    const DeliveryResult r = transport->deliver(message());
    EXPECT_EQ(r.outcome, Outcome::temporary);
    EXPECT_TRUE(contains(r.reply, "(connecting)")) << r.reply;
}

TEST(CurlTransport, RelayThatStallsAfterTheDataTimesOutTemporarily) {
    Script script;
    script.at[At::end_of_data] = {"", false, true};
    SmtpServer server(script);
    config::Relay relay = relay_for(server);
    relay.timeout = 1s;  // below the file's minimum: the struct is set directly
    const auto start = Clock::now();
    {
        auto transport = make(relay);
        ASSERT_TRUE(transport);
        const DeliveryResult r = transport->deliver(message());
        EXPECT_EQ(r.outcome, Outcome::temporary);
        EXPECT_TRUE(contains(r.reply, "(after DATA)")) << r.reply;
        EXPECT_TRUE(contains(r.reply, "timeout")) << r.reply;
    }  // no QUIT waiting for an answer that will not come
    const auto took = Clock::now() - start;
    EXPECT_GE(took, 900ms);
    EXPECT_LT(took, 1800ms);
    EXPECT_EQ(server.messages().size(), 1u);  // the relay had it all, and never said so
}

TEST(CurlTransport, RelayThatNeverGreetsIsBoundedByTheConnectTimeout) {
    Script script;
    script.at[At::greeting] = {"", false, true};
    SmtpServer server(script);
    config::Relay relay = relay_for(server);
    relay.connect_timeout = 1s;
    relay.timeout = 30s;
    const auto start = Clock::now();
    {
        auto transport = make(relay);
        ASSERT_TRUE(transport);
        const DeliveryResult r = transport->deliver(message());
        EXPECT_EQ(r.outcome, Outcome::temporary);
        EXPECT_TRUE(contains(r.reply, "(connecting)")) << r.reply;
    }
    const auto took = Clock::now() - start;
    EXPECT_GE(took, 900ms);
    EXPECT_LT(took, 1800ms);
    EXPECT_FALSE(server.saw_command("EHLO"));
}

TEST(CurlTransport, BareLineEndsAreRefusedWithoutConnecting) {
    SmtpServer server;
    auto transport = make(relay_for(server));
    ASSERT_TRUE(transport);
    const DeliveryResult lf = transport->deliver(message("Subject: x\r\n\r\nline\nline\r\n"));
    EXPECT_EQ(lf.outcome, Outcome::permanent);
    EXPECT_TRUE(contains(lf.reply, "bare LF at octet 18")) << lf.reply;
    const DeliveryResult cr = transport->deliver(message("Subject: x\r\n\r\nline\rline\r\n"));
    EXPECT_EQ(cr.outcome, Outcome::permanent);
    EXPECT_TRUE(contains(cr.reply, "bare CR at octet 18")) << cr.reply;
    // The next good message opens the first connection: the refused ones never opened one.
    EXPECT_EQ(transport->deliver(message()).outcome, Outcome::delivered);
    EXPECT_EQ(server.connections(), 1);
    EXPECT_EQ(server.messages().size(), 1u);
}

// --- AUTH -----------------------------------------------------------------------------------

class CurlAuth : public ::testing::Test {
protected:
    std::string password_file(const std::string& content, mode_t mode = 0600) {
        const std::string path = (dir_.path() / "relay.password").string();
        referent::test::write_bytes(path, content);
        ::chmod(path.c_str(), mode);
        return path;
    }
    config::Relay relay_with(const SmtpServer& server, const std::string& path) {
        config::Relay r = relay_for(server);
        r.username = "referent";
        r.password_file = path;
        return r;
    }
    TempDir dir_;
};

Script auth_script() {
    Script s;
    s.auth = std::pair<std::string, std::string>{"referent", "s3cret pass"};
    return s;
}

TEST_F(CurlAuth, PasswordFromTheFileAuthenticates) {
    for (const std::string content : {"s3cret pass\n", "s3cret pass\r\n", "s3cret pass"}) {
        SmtpServer server(auth_script());
        auto transport = make(relay_with(server, password_file(content)));
        ASSERT_TRUE(transport);
        EXPECT_EQ(transport->deliver(message()).outcome, Outcome::delivered);
        const auto got = server.messages();
        ASSERT_EQ(got.size(), 1u);
        EXPECT_EQ(got[0].user, "referent");
        EXPECT_TRUE(server.saw_command("AUTH PLAIN"));
    }
}

TEST_F(CurlAuth, WrongPasswordIsTemporaryAndSendsNothing) {
    SmtpServer server(auth_script());
    auto transport = make(relay_with(server, password_file("not the password\n")));
    ASSERT_TRUE(transport);
    const DeliveryResult r = transport->deliver(message());
    EXPECT_EQ(r.outcome, Outcome::temporary);  // the operator fixes the file; no mail is lost
    EXPECT_TRUE(contains(r.reply, "535 5.7.8 Error: authentication failed (reply to AUTH)"))
        << r.reply;
    EXPECT_FALSE(server.saw_command("MAIL"));
}

TEST_F(CurlAuth, UnusablePasswordFilesStopTheTransportAtCreation) {
    struct Row {
        std::string content;
        mode_t mode;
        std::string error;
    };
    const std::vector<Row> rows{
        {"s3cret\n", 0644, "readable by group or others (chmod 600)"},
        {"s3cret\n", 0640, "readable by group or others (chmod 600)"},
        {"", 0600, "empty"},
        {"\n", 0600, "empty"},
        {"s3cret\n\n", 0600, "holds a line break"},
        {"s3c\0ret"s, 0600, "holds a line break or NUL"},
        {std::string(4097, 'x'), 0600, "longer than 4096 octets"},
    };
    SmtpServer server(auth_script());
    for (const Row& row : rows) {
        auto t =
            make_transport(relay_with(server, password_file(row.content, row.mode)), kHostname);
        ASSERT_FALSE(t.ok()) << row.error;
        EXPECT_FALSE(t.error().is_temporary());
        EXPECT_TRUE(contains(t.error().message, row.error)) << t.error().message;
        EXPECT_TRUE(t.error().message.starts_with("relay.password_file: ")) << t.error().message;
    }
    auto missing = make_transport(relay_with(server, "/nonexistent/relay.password"), kHostname);
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().message,
              "relay.password_file: /nonexistent/relay.password: No such file or directory");
    EXPECT_EQ(server.connections(), 0);
}

// --- TLS ------------------------------------------------------------------------------------

TEST(CurlTls, RequiredStartTlsAgainstARelayWithoutItIsTemporary) {
    SmtpServer server;  // offers no STARTTLS
    auto transport = make(relay_for(server, config::StartTls::required));
    ASSERT_TRUE(transport);
    const DeliveryResult r = transport->deliver(message());
    EXPECT_EQ(r.outcome, Outcome::temporary);
    EXPECT_TRUE(contains(r.reply, "(after EHLO)")) << r.reply;
    EXPECT_FALSE(server.saw_command("MAIL"));  // nothing went out in clear
}

TEST(CurlTls, RequiredStartTlsDeliversOverVerifiedTls) {
    TestCertificate cert;
    Script script;
    script.starttls = true;
    script.certificate = &cert;
    SmtpServer server(script);
    auto transport = make_trusting(cert, server.url("localhost"), config::StartTls::required);
    ASSERT_TRUE(transport);
    const DeliveryResult r = transport->deliver(message());
    EXPECT_EQ(r.outcome, Outcome::delivered) << r.reply;
    const auto got = server.messages();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_TRUE(got[0].tls);
    EXPECT_EQ(got[0].helo, kHostname);  // EHLO again after the handshake
    EXPECT_EQ(got[0].data, kLetter);
}

TEST(CurlTls, OpportunisticUpgradesWhenOffered) {
    TestCertificate cert;
    Script script;
    script.starttls = true;
    script.certificate = &cert;
    SmtpServer server(script);
    auto transport = make_trusting(cert, server.url("localhost"), config::StartTls::opportunistic);
    ASSERT_TRUE(transport);
    EXPECT_EQ(transport->deliver(message()).outcome, Outcome::delivered);
    ASSERT_EQ(server.messages().size(), 1u);
    EXPECT_TRUE(server.messages()[0].tls);
}

TEST(CurlTls, OpportunisticStaysInClearWhenNotOffered) {
    SmtpServer server;
    auto transport = make(relay_for(server, config::StartTls::opportunistic));
    ASSERT_TRUE(transport);
    EXPECT_EQ(transport->deliver(message()).outcome, Outcome::delivered);
    ASSERT_EQ(server.messages().size(), 1u);
    EXPECT_FALSE(server.messages()[0].tls);
}

TEST(CurlTls, NeverDoesNotUpgradeEvenWhenOffered) {
    TestCertificate cert;
    Script script;
    script.starttls = true;
    script.certificate = &cert;
    SmtpServer server(script);
    auto transport = make(relay_for(server, config::StartTls::never));
    ASSERT_TRUE(transport);
    EXPECT_EQ(transport->deliver(message()).outcome, Outcome::delivered);
    EXPECT_FALSE(server.saw_command("STARTTLS"));
    ASSERT_EQ(server.messages().size(), 1u);
    EXPECT_FALSE(server.messages()[0].tls);
}

TEST(CurlTls, UntrustedCertificateIsTemporaryAndNeverFallsBackToClear) {
    TestCertificate cert;
    Script script;
    script.starttls = true;
    script.certificate = &cert;
    SmtpServer server(script);
    config::Relay relay = relay_for(server, config::StartTls::opportunistic);
    relay.url = server.url("localhost");
    auto transport = make(relay);  // the system's trust store: the test certificate is not in it
    ASSERT_TRUE(transport);
    const DeliveryResult r = transport->deliver(message());
    EXPECT_EQ(r.outcome, Outcome::temporary);
    EXPECT_TRUE(server.saw_command("STARTTLS"));
    EXPECT_FALSE(server.saw_command("MAIL"));
}

TEST(CurlTls, CertificateForAnotherNameIsTemporary) {
    TestCertificate cert;  // for "localhost" only
    Script script;
    script.starttls = true;
    script.certificate = &cert;
    SmtpServer server(script);
    auto transport = make_trusting(cert, server.url("127.0.0.1"), config::StartTls::required);
    ASSERT_TRUE(transport);
    EXPECT_EQ(transport->deliver(message()).outcome, Outcome::temporary);
    EXPECT_FALSE(server.saw_command("MAIL"));
}

TEST(CurlTls, SmtpsIsTlsFromTheFirstOctet) {
    TestCertificate cert;
    Script script;
    script.implicit_tls = true;
    script.certificate = &cert;
    SmtpServer server(script);
    auto transport = make_trusting(cert, server.url("localhost"), config::StartTls::never);
    ASSERT_TRUE(transport);
    EXPECT_EQ(transport->deliver(message()).outcome, Outcome::delivered);
    ASSERT_EQ(server.messages().size(), 1u);
    EXPECT_TRUE(server.messages()[0].tls);
    EXPECT_FALSE(server.saw_command("STARTTLS"));
}

}  // namespace
}  // namespace referent::relay::test
