#include "spool/envelope.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace referent::spool {
namespace {

using namespace std::chrono;

// 2026-11-28T13:45:00.123456Z
const system_clock::time_point arrival_time{microseconds{1795873500123456}};

Envelope sample() {
    Envelope e;
    e.id = "06615662095140000102";
    e.role = "public";
    e.protocol = "ESMTPS";
    e.client_address = "[2001:db8::1]:52000";
    e.helo = "mx.example.org";
    e.mail_from = "jeanne.dupont@example.org";
    e.recipients = {"etat-civil@mairie-exemple.fr", "urbanisme@mairie-exemple.fr"};
    e.arrival = arrival_time;
    e.tls = true;
    e.smtputf8 = false;
    e.body = "8BITMIME";
    return e;
}

const std::string golden =
    "referent-envelope 1\n"
    "id: 06615662095140000102\n"
    "arrival: 2026-11-28T13:45:00.123456Z\n"
    "role: public\n"
    "protocol: ESMTPS\n"
    "client: [2001:db8::1]:52000\n"
    "helo: mx.example.org\n"
    "tls: yes\n"
    "smtputf8: no\n"
    "body: 8BITMIME\n"
    "mail-from: jeanne.dupont@example.org\n"
    "rcpt: etat-civil@mairie-exemple.fr\n"
    "rcpt: urbanisme@mairie-exemple.fr\n";

// `golden` with the line starting with `prefix` replaced by `replacement` ("" deletes it).
std::string with_line(const std::string& prefix, const std::string& replacement) {
    std::string out;
    std::size_t pos = 0;
    while (pos < golden.size()) {
        const auto eol = golden.find('\n', pos);
        const std::string line = golden.substr(pos, eol - pos + 1);
        out += line.rfind(prefix, 0) == 0 ? replacement : line;
        pos = eol + 1;
    }
    return out;
}

TEST(Envelope, FormatsTheGoldenText) {
    EXPECT_EQ(format_envelope(sample()), golden);
}

TEST(Envelope, RoundTripIsExact) {
    auto parsed = parse_envelope(golden);
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(*parsed, sample());
    EXPECT_EQ(format_envelope(*parsed), golden);
}

TEST(Envelope, NullSenderIsWrittenAsAngleBrackets) {
    Envelope e = sample();
    e.mail_from = "";
    const std::string text = format_envelope(e);
    EXPECT_NE(text.find("\nmail-from: <>\n"), std::string::npos);
    auto parsed = parse_envelope(text);
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(*parsed, e);
}

TEST(Envelope, EmptyHeloAndFalseFlagsRoundTrip) {
    Envelope e = sample();
    e.helo = "";
    e.tls = false;
    e.smtputf8 = true;
    e.role = "internal";
    e.protocol = "LMTP";
    auto parsed = parse_envelope(format_envelope(e));
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(*parsed, e);
}

TEST(Envelope, EmptyValueMayOmitTheSpace) {
    auto parsed = parse_envelope(with_line("helo:", "helo:\n"));
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(parsed->helo, "");
}

TEST(Envelope, ArrivalIsKeptToTheMicrosecond) {
    Envelope e = sample();
    e.arrival = arrival_time + nanoseconds{999};
    auto parsed = parse_envelope(format_envelope(e));
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(parsed->arrival, arrival_time);
}

TEST(Envelope, ArrivalBeforeTheFirstSecondOfADay) {
    Envelope e = sample();
    e.arrival = system_clock::time_point{sys_days{2027y / 1 / 1}};
    const std::string text = format_envelope(e);
    EXPECT_NE(text.find("\narrival: 2027-01-01T00:00:00.000000Z\n"), std::string::npos);
    auto parsed = parse_envelope(text);
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(parsed->arrival, e.arrival);
}

struct Refusal {
    std::string name;
    std::string text;
    std::string want;  // substring of the error message
};

std::vector<Refusal> refusals() {
    std::string g = golden;
    return {
        {"empty", "", "truncated"},
        {"no final newline", g.substr(0, g.size() - 1), "truncated"},
        {"wrong magic", with_line("referent-envelope", "referent-enveloppe 1\n"),
         "not a referent envelope"},
        {"version 2", with_line("referent-envelope", "referent-envelope 2\n"),
         "unsupported envelope version 2"},
        {"version 0", with_line("referent-envelope", "referent-envelope 0\n"),
         "unsupported envelope version 0"},
        {"version not a number", with_line("referent-envelope", "referent-envelope 1a\n"),
         "malformed version line"},
        {"duplicate id", with_line("id:", "id: 1\nid: 2\n"), "duplicate key \"id\""},
        {"duplicate tls", with_line("tls:", "tls: yes\ntls: yes\n"), "duplicate key \"tls\""},
        {"unknown key", with_line("body:", "body: 7BIT\nx-spam: yes\n"),
         "line 11: unknown key \"x-spam\""},
        {"line without colon", with_line("body:", "body 7BIT\n"), "expected \"key: value\""},
        {"empty line", with_line("body:", "body: 7BIT\n\n"), "expected \"key: value\""},
        {"no recipients", with_line("rcpt:", ""), "no recipients"},
        {"empty recipient", with_line("rcpt: urbanisme", "rcpt: \n"), "empty rcpt"},
        {"empty mail-from", with_line("mail-from:", "mail-from: \n"), "empty mail-from"},
        {"date out of range", with_line("arrival:", "arrival: 2026-02-30T13:45:00.000000Z\n"),
         "malformed arrival"},
        {"hour 24", with_line("arrival:", "arrival: 2026-11-28T24:00:00.000000Z\n"),
         "malformed arrival"},
        {"no microseconds", with_line("arrival:", "arrival: 2026-11-28T13:45:00Z\n"),
         "malformed arrival"},
        {"space separator", with_line("arrival:", "arrival: 2026-11-28 13:45:00.123456Z\n"),
         "malformed arrival"},
        {"local offset", with_line("arrival:", "arrival: 2026-11-28T13:45:00.123456+01\n"),
         "malformed arrival"},
        {"tls maybe", with_line("tls:", "tls: maybe\n"), "tls must be yes or no"},
        {"smtputf8 true", with_line("smtputf8:", "smtputf8: true\n"), "smtputf8 must be"},
        {"id with slash", with_line("id:", "id: ../etc\n"), "invalid id"},
        {"id too long", with_line("id:", "id: " + std::string(33, 'a') + "\n"), "invalid id"},
        {"unknown role", with_line("role:", "role: relay\n"), "invalid role"},
        {"empty client", with_line("client:", "client: \n"), "empty client"},
        {"CRLF line endings", with_line("role:", "role: public\r\n"), "CR or NUL"},
        {"NUL in a value", with_line("helo:", std::string("helo: a\0b\n", 10)), "CR or NUL"},
    };
}

TEST(Envelope, RefusesMalformedText) {
    for (const auto& c : refusals()) {
        auto got = parse_envelope(c.text);
        ASSERT_FALSE(got) << c.name;
        EXPECT_FALSE(got.error().is_temporary()) << c.name;
        EXPECT_NE(got.error().message.find(c.want), std::string::npos)
            << c.name << ": got \"" << got.error().message << "\", want \"" << c.want << "\"";
    }
}

TEST(Envelope, RefusesEachMissingKey) {
    for (const std::string key : {"id", "arrival", "role", "protocol", "client", "helo", "tls",
                                  "smtputf8", "body", "mail-from"}) {
        auto got = parse_envelope(with_line(key + ":", ""));
        ASSERT_FALSE(got) << key;
        EXPECT_EQ(got.error().message, "envelope: missing key \"" + key + "\"");
    }
}

TEST(Envelope, ValidateNamesTheBrokenRule) {
    struct Case {
        std::string name;
        void (*spoil)(Envelope&);
        std::string want;
    };
    const std::vector<Case> cases{
        {"LF in rcpt", [](Envelope& e) { e.recipients[1] = "a@b\nrcpt: evil@c"; }, "in rcpt"},
        {"CR in helo", [](Envelope& e) { e.helo = "a\rb"; }, "in a value"},
        {"NUL in mail-from", [](Envelope& e) { e.mail_from = std::string("a\0b", 3); },
         "in a value"},
        {"literal <>", [](Envelope& e) { e.mail_from = "<>"; }, "literal <>"},
        {"no recipients", [](Envelope& e) { e.recipients.clear(); }, "no recipients"},
        {"bad id", [](Envelope& e) { e.id = "a/b"; }, "invalid id"},
        {"empty body", [](Envelope& e) { e.body = ""; }, "empty body"},
    };
    EXPECT_TRUE(validate_envelope(sample()));
    for (const auto& c : cases) {
        Envelope e = sample();
        c.spoil(e);
        auto st = validate_envelope(e);
        ASSERT_FALSE(st) << c.name;
        EXPECT_FALSE(st.error().is_temporary()) << c.name;
        EXPECT_NE(st.error().message.find(c.want), std::string::npos)
            << c.name << ": " << st.error().message;
    }
}

TEST(EnvelopeId, Validity) {
    EXPECT_TRUE(is_valid_id("0"));
    EXPECT_TRUE(is_valid_id("azAZ09"));
    EXPECT_TRUE(is_valid_id(std::string(32, 'f')));
    EXPECT_FALSE(is_valid_id(std::string(33, 'f')));
    EXPECT_FALSE(is_valid_id(""));
    EXPECT_FALSE(is_valid_id("ab-cd"));
    EXPECT_FALSE(is_valid_id("ab.env"));
    EXPECT_FALSE(is_valid_id("é"));
}

}  // namespace
}  // namespace referent::spool
