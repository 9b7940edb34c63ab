#include "mail/mailbox.hpp"

#include <gtest/gtest.h>

namespace referent::mail {
namespace {

struct Case {
    const char* in;
    bool ok;
    const char* display;
    const char* local;
    const char* domain;
};

TEST(Mailbox, Table) {
    const Case cases[] = {
        {"jeanne@example.org", true, "", "jeanne", "example.org"},
        {"<jeanne@example.org>", true, "", "jeanne", "example.org"},
        {"Jeanne Dupont <jeanne@example.org>", true, "Jeanne Dupont", "jeanne", "example.org"},
        {"\"Dupont, Jeanne\" <jeanne@example.org>", true, "Dupont, Jeanne", "jeanne",
         "example.org"},
        {"\"Dupont, Jean (Service \\\"Permis\\\")\" <j@example.org>", true,
         "Dupont, Jean (Service \"Permis\")", "j", "example.org"},
        {"J. Doe <j.doe@example.org>", true, "J. Doe", "j.doe", "example.org"},
        {"MAILER-DAEMON@example.org (Mail Delivery System)", true, "Mail Delivery System",
         "MAILER-DAEMON", "example.org"},
        {"  Jeanne  (home)  <jeanne@example.org>  (x)", true, "Jeanne", "jeanne", "example.org"},
        {"=?utf-8?q?agent=40gov.example?= <attacker@evil.example>", true,
         "=?utf-8?q?agent=40gov.example?=", "attacker", "evil.example"},
        {"Hélène <hélène@exemple.fr>", true, "Hélène", "hélène", "exemple.fr"},
        {"\"john doe\"@example.org", true, "", "\"john doe\"", "example.org"},
        {"user@[192.0.2.1]", true, "", "user", "[192.0.2.1]"},
        {"user@[IPv6:2001:db8::1]", true, "", "user", "[IPv6:2001:db8::1]"},
        // Found by address_fuzz: control octets and spaces inside the brackets reached the
        // address unchecked.
        {"user@[IPv\x06oa.x]", false, "", "", ""},
        {"user@[192.0.2.1\x7f]", false, "", "", ""},
        {"user@[ 192.0.2.1 ]", false, "", "", ""},
        {"user@[192.0.2.1\t]", false, "", "", ""},
        {"user@[a\\]]", false, "", "", ""},
        {"user@[]", false, "", "", ""},
        {"foo.@docomo.ne.jp", true, "", "foo.", "docomo.ne.jp"},
        {"Jeanne<jeanne@example.org>", true, "Jeanne", "jeanne", "example.org"},
        // Vectors F2 and other forms that must not be guessed.
        {"alice@example.org)<bob@example.com>", false, "", "", ""},
        {"alice@example.org<<bob@example.com>", false, "", "", ""},
        {"alice@example.org <bob@example.com>", false, "", "", ""},
        {"<alice@example.org> <bob@example.com>", false, "", "", ""},
        {"alice@example.org, bob@example.com", false, "", "", ""},
        {"Dupont, Jean <j@example.org>", false, "", "", ""},
        {"undisclosed-recipients:;", false, "", "", ""},
        {"Team: a@example.org;", false, "", "", ""},
        {"<MAILER-DAEMON>", false, "", "", ""},
        {"", false, "", "", ""},
        {"<>", false, "", "", ""},
        {"a@", false, "", "", ""},
        {"@example.org", false, "", "", ""},
        {"a@example..org", false, "", "", ""},
        {"a@example.org (unterminated", false, "", "", ""},
        {"\"unterminated <a@example.org>", false, "", "", ""},
        {"a@example.org\r\nBcc: x@evil.example", false, "", "", ""},
        {"a@exa mple.org", false, "", "", ""},
        {"Jeanne <jeanne@example.org", false, "", "", ""},
    };
    for (const Case& c : cases) {
        std::optional<RawMailbox> m = parse_mailbox(c.in);
        EXPECT_EQ(m.has_value(), c.ok) << c.in;
        if (m && c.ok) {
            EXPECT_EQ(m->display_name, c.display) << c.in;
            EXPECT_EQ(m->local_part, c.local) << c.in;
            EXPECT_EQ(m->domain, c.domain) << c.in;
        }
    }
}

TEST(Mailbox, NulIsRefused) {
    EXPECT_FALSE(parse_mailbox(std::string_view("a@example.org\0x", 15)));
}

}  // namespace
}  // namespace referent::mail
