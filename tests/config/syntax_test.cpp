// tests/config/syntax_test.cpp — the string checks: addresses, domains, ids, URLs, endpoints.
// Each row is a string and the reason it is refused ("" = accepted).
#include <gtest/gtest.h>

#include <string>

#include "config/syntax.hpp"

namespace referent::config {
namespace {

struct Row {
    std::string text;
    std::string reason;
};

void expect_rows(Problem (*check)(std::string_view), const std::vector<Row>& rows) {
    for (const Row& row : rows)
        EXPECT_EQ(check(row.text).value_or(""), row.reason) << "input: " << row.text;
}

TEST(Syntax, Email) {
    const std::string bad = "is not a valid email address: ";
    expect_rows(
        check_email,
        {{"anne@example.fr", ""},
         {"a.b+tag@sub.example.fr", ""},
         {"!#$%&'*+-/=?^_`{|}~@example.fr", ""},
         {std::string(64, 'a') + "@example.fr", ""},
         {"hélène@example.fr", ""},
         {std::string(65, 'a') + "@example.fr", bad + "the local part is longer than 64 octets"},
         {"example.fr", bad + "no '@'"},
         {"@example.fr", bad + "the local part is empty"},
         {".anne@example.fr", bad + "the local part has a misplaced dot"},
         {"anne.@example.fr", bad + "the local part has a misplaced dot"},
         {"an..ne@example.fr", bad + "the local part has a misplaced dot"},
         {"an ne@example.fr", bad + "the local part contains ' '"},
         {"a@b@example.fr", bad + "the local part contains '@'"},
         {"<anne@example.fr>", bad + "the local part contains '<'"},
         {"anne@", bad + "the domain is empty"},
         {"anne@example.fr.", bad + "the domain ends with a dot"},
         {"anne@[127.0.0.1]", bad + "the domain contains '['"},
         {"anne@127.0.0.1", bad + "the domain ends with a numeric label"},
         {"anne@exa mple.fr", bad + "the domain contains ' '"},
         {"anne@" + std::string(64, 'x') + ".fr",
          bad + "the domain has a label longer than 63 octets"},
         {"anne@-x.fr", bad + "the domain has a label starting or ending with '-'"},
         {"anne@x\tfr", bad + "the domain contains byte 9"}});
}

TEST(Syntax, DomainAndHostname) {
    std::string longest;  // 255 octets: 63.63.63.63 minus one, in LDH labels
    for (int i = 0; i < 4; ++i) longest += std::string(i == 3 ? 62 : 63, 'a') + (i == 3 ? "" : ".");
    ASSERT_EQ(longest.size(), 254u);
    expect_rows(
        check_domain,
        {{"example.fr", ""},
         {"xn--mairie-4ua.fr", ""},
         {"localhost", ""},
         {"a-b.c0", ""},
         {longest + "a", ""},
         {longest + "aa", "is not a valid domain name: it is longer than 255 octets"},
         {"", "is not a valid domain name: it is empty"},
         {"mairie_x.fr", "is not a valid domain name: it contains '_'"},
         {"mairie.fr.", "is not a valid domain name: it ends with a dot"},
         {".mairie.fr", "is not a valid domain name: it has an empty label"},
         {"1.2.3.4", "is not a valid domain name: it ends with a numeric label"},
         {"mairie-.fr", "is not a valid domain name: it has a label starting or ending with '-'"},
         {"mairié.fr", "is not a valid domain name: it contains byte 195"}});
    EXPECT_EQ(check_hostname("gw_1.example.fr").value_or(""),
              "is not a valid host name: it contains '_'");
    EXPECT_EQ(check_hostname("referent.mairie-exemple.fr"), std::nullopt);
}

TEST(Syntax, IpLiteral) {
    expect_rows(check_ip_literal, {{"127.0.0.1", ""},
                                   {"0.0.0.0", ""},
                                   {"::", ""},
                                   {"::1", ""},
                                   {"2001:db8::25", ""},
                                   {"localhost", "must be an IPv4 or IPv6 address literal"},
                                   {"127.1", "must be an IPv4 or IPv6 address literal"},
                                   {"[::1]", "must be an IPv4 or IPv6 address literal"},
                                   {"127.0.0.1:25", "must be an IPv4 or IPv6 address literal"},
                                   {"", "must be an IPv4 or IPv6 address literal"}});
    EXPECT_EQ(canonical_ip("0:0::1"), "::1");
    EXPECT_EQ(canonical_ip("2001:DB8:0::25"), "2001:db8::25");
    EXPECT_EQ(canonical_ip("nope"), std::nullopt);
}

TEST(Syntax, IdAndCasePrefix) {
    const std::string rule = "may contain only a-z, 0-9, '.', '_' and '-' (found ";
    expect_rows(check_id, {{"etat-civil", ""},
                           {"helene.lefevre", ""},
                           {"0a_b", ""},
                           {std::string(64, 'a'), ""},
                           {std::string(65, 'a'), "must be at most 64 characters"},
                           {"", "must not be empty"},
                           {"-a", "must start with a lower-case letter or a digit"},
                           {"Anne", "must start with a lower-case letter or a digit"},
                           {"anne martin", rule + "' ')"},
                           {"annE", rule + "'E')"}});
    const std::string prefix =
        "must be 1 to 8 upper-case letters or digits, starting with a letter";
    expect_rows(check_case_prefix, {{"EC", ""},
                                    {"A", ""},
                                    {"ABCDEFG8", ""},
                                    {"ABCDEFGH9", prefix},
                                    {"", prefix},
                                    {"1EC", prefix},
                                    {"ec", prefix},
                                    {"E-C", prefix}});
}

TEST(Syntax, RelayUrl) {
    expect_rows(check_relay_url,
                {{"smtp://127.0.0.1:25", ""},
                 {"smtps://relay.example.fr", ""},
                 {"SMTP://relay.example.fr:587/ehlo.example.fr", ""},
                 {"smtp://[2001:db8::1]:25", ""},
                 {"http://relay.example.fr", "must start with smtp:// or smtps://"},
                 {"relay.example.fr:25", "must start with smtp:// or smtps://"},
                 {"smtp://", "has no host"},
                 {"smtp://user:pw@relay.example.fr",
                  "must not hold credentials: use relay.username and relay.password_file"},
                 {"smtp://relay.example.fr:x", "is not a valid URL: it has no valid port"},
                 {"smtp://relay_1.example.fr", "is not a valid URL: it has an invalid host"},
                 {"smtp://[::1", "is not a valid URL: it has an unclosed '['"}});
}

TEST(Syntax, ListenEndpoint) {
    expect_rows(check_listen_endpoint,
                {{"", ""},
                 {"127.0.0.1:9125", ""},
                 {"[::1]:9125", ""},
                 {"localhost:9125", ""},
                 {"127.0.0.1", "must be host:port or \"\": it has no port"},
                 {"127.0.0.1:", "must be host:port or \"\": it has no valid port"},
                 {"127.0.0.1:65536", "must be host:port or \"\": it has a port above 65535"},
                 {"::1:9125", "must be host:port or \"\": it has an IPv6 address outside [ ]"},
                 {"[::1]x", "must be host:port or \"\": it has text after ']'"}});
}

TEST(Syntax, LowerAndDomainOf) {
    EXPECT_EQ(lower("EC@Example.FR"), "ec@example.fr");
    EXPECT_EQ(domain_of("EC@Example.FR"), "example.fr");
    EXPECT_EQ(domain_of("nothing"), "");
}

}  // namespace
}  // namespace referent::config
