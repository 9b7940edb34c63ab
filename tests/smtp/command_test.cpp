#include "smtp/command.hpp"

#include <gtest/gtest.h>

using namespace referent::smtp;

TEST(Command, VerbsAreCaseInsensitive) {
    EXPECT_EQ(parse_command("ehlo x").verb, Verb::ehlo);
    EXPECT_EQ(parse_command("MaIl FROM:<a@b.c>").verb, Verb::mail);
    EXPECT_EQ(parse_command("MAIL FROM:<a@b.c>").argument, "FROM:<a@b.c>");
    EXPECT_EQ(parse_command("DATA").argument, "");
    EXPECT_EQ(parse_command("DATAX").verb, Verb::unknown);
    EXPECT_EQ(parse_command("").verb, Verb::unknown);
}

TEST(Command, MailParameters) {
    auto m = parse_mail("FROM:<a@b.example> SIZE=1000 BODY=8BITMIME SMTPUTF8");
    ASSERT_TRUE(m.args);
    EXPECT_EQ(m.args->size, 1000u);
    EXPECT_EQ(m.args->body, Body::eight_bit_mime);
    EXPECT_TRUE(m.args->smtputf8);

    auto spaced = parse_mail("from: <a@b.example>");
    ASSERT_TRUE(spaced.args);
    EXPECT_EQ(spaced.args->from.local, "a");

    auto max = parse_mail("FROM:<a@b.example> SIZE=18446744073709551615");
    ASSERT_TRUE(max.args);
    EXPECT_EQ(*max.args->size, UINT64_MAX);
    for (const char* bad :
         {"FROM:<a@b.example> SIZE=18446744073709551616",
          "FROM:<a@b.example> SIZE=00000000000000000000001", "FROM:<a@b.example> SIZE=1e3",
          "FROM:<a@b.example> SIZE=-1", "FROM:<a@b.example> SMTPUTF8=yes"}) {
        auto r = parse_mail(bad);
        EXPECT_FALSE(r.args) << bad;
        EXPECT_EQ(r.refusal.code, 501) << bad;
    }
    EXPECT_EQ(parse_mail("FROM:<a@b.example> RET=FULL").refusal.code, 555);
    EXPECT_EQ(parse_mail("FROM:<a@b.example>X").refusal.code, 501);
    EXPECT_EQ(parse_mail("TO:<a@b.example>").refusal.code, 501);
}

TEST(Command, RcptRefusesParametersAndNull) {
    EXPECT_TRUE(parse_rcpt("TO:<a@b.example>", false).args);
    EXPECT_EQ(parse_rcpt("TO:<a@b.example> NOTIFY=NEVER", false).refusal.code, 555);
    EXPECT_EQ(parse_rcpt("TO:<>", false).refusal.code, 501);
    EXPECT_EQ(parse_rcpt("FROM:<a@b.example>", false).refusal.code, 501);
}
