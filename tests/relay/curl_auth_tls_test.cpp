// tests/relay/curl_auth_tls_test.cpp — CurlTransport's AUTH (the password file and what the
// relay says of the credentials) and TLS (STARTTLS per relay.starttls, smtps, and
// verification of the chain and the host name) against the scripted server.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "curl_fixture.hpp"
#include "spool/temp_dir.hpp"

namespace referent::relay::test {
namespace {

using namespace std::string_literals;
using referent::test::TempDir;

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
