// tests/relay/curl_transport_test.cpp — CurlTransport over real sockets against the scripted
// server of smtp_server.hpp: what the relay receives (byte for byte, and the conversation as
// C:/S: lines), connection reuse, what each answer of the relay becomes (delivered / temporary
// / permanent), and the bounds (connect and transaction timeouts). AUTH and TLS are in
// curl_auth_tls_test.cpp.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "curl_fixture.hpp"

namespace referent::relay::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

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

// A reused connection that turns out dead before the relay said anything (it closed it as the
// next MAIL went out): nothing can have been accepted, so one more try on a new connection.
TEST(CurlTransport, RetriesOnANewConnectionWhenTheReusedOneIsDeadBeforeAnyReply) {
    Script script;
    script.at[At::mail] = {"", true, false, 1, 1};  // the second MAIL: closed, no reply
    SmtpServer server(script);
    auto transport = make(relay_for(server));
    ASSERT_TRUE(transport);
    EXPECT_EQ(transport->deliver(message()).outcome, Outcome::delivered);
    EXPECT_EQ(transport->deliver(message()).outcome, Outcome::delivered);
    EXPECT_EQ(server.messages().size(), 2u);
    EXPECT_EQ(server.connections(), 2);
}

// Once the relay has answered anything in the transaction, a lost connection is temporary:
// trying again at once could deliver twice.
TEST(CurlTransport, NoRetryOnceTheRelayHasAnswered) {
    Script script;
    script.at[At::rcpt] = {"", true, false, 1, 1};  // the second RCPT: closed, no reply
    SmtpServer server(script);
    auto transport = make(relay_for(server));
    ASSERT_TRUE(transport);
    EXPECT_EQ(transport->deliver(message()).outcome, Outcome::delivered);
    const DeliveryResult r = transport->deliver(message());
    EXPECT_EQ(r.outcome, Outcome::temporary);
    EXPECT_TRUE(contains(r.reply, "(after RCPT)")) << r.reply;
    EXPECT_EQ(server.messages().size(), 1u);
    EXPECT_EQ(server.connections(), 1);
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

}  // namespace
}  // namespace referent::relay::test
