// tests/relay/outbound_check_test.cpp — what every transport refuses before sending: bare CR
// and bare LF anywhere in the bytes, and envelope addresses that could split an SMTP command.
#include <gtest/gtest.h>

#include "relay/outbound_check.hpp"

namespace referent::relay::test {
namespace {

TEST(BareLineEnd, FindsTheFirstBareCrOrLf) {
    struct Row {
        std::string bytes;
        std::optional<std::size_t> want;
    };
    const std::vector<Row> rows{
        {"", std::nullopt},
        {"no line end at all", std::nullopt},
        {"a\r\nb\r\n", std::nullopt},
        {"\r\n\r\n.\r\n", std::nullopt},
        {"\n", 0},
        {"\r", 0},
        {"a\nb\r\n", 1},
        {"a\rb\r\n", 1},
        {"a\r\nb\r", 4},
        {"a\r\r\n", 1},
        {"a\r\n\n", 3},
        {"a\n\r", 1},
    };
    for (const Row& row : rows) EXPECT_EQ(bare_line_end(row.bytes), row.want) << row.bytes;
}

TEST(Refusal, EnvelopeAddresses) {
    const auto refuse = [](std::string from, std::string rcpt) {
        return refusal({"q1", std::move(from), std::move(rcpt), "x\r\n"});
    };
    EXPECT_EQ(refuse("a@example.net", "b@example.net"), std::nullopt);
    EXPECT_EQ(refuse("", "b@example.net"), std::nullopt);  // the null sender
    EXPECT_EQ(refuse("é@exemple.fr", "ü@exemple.de"),
              std::nullopt);  // SMTPUTF8 is the relay's call
    for (const auto& [from, rcpt] : std::vector<std::pair<std::string, std::string>>{
             {"a@example.net", ""},
             {"a@example.net", "b@example.net\r\nRSET"},
             {"a@example.net", "b@example.net> NOTIFY=NEVER"},
             {"a@example.net", "<b@example.net"},
             {"a@example.net\r\nRCPT TO:<x@evil>", "b@example.net"},
             {std::string("a\0@example.net", 14), "b@example.net"},
             {"a\t@example.net", "b@example.net"},
         }) {
        const auto r = refuse(from, rcpt);
        ASSERT_TRUE(r.has_value()) << from << " → " << rcpt;
        EXPECT_EQ(r->outcome, Outcome::permanent);
        EXPECT_TRUE(r->reply.starts_with("refused before sending: ")) << r->reply;
    }
}

}  // namespace
}  // namespace referent::relay::test
