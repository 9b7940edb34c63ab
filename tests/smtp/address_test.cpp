#include "smtp/address.hpp"

#include <gtest/gtest.h>

using referent::smtp::AddressProblem;
using referent::smtp::parse_path;

namespace {

struct Case {
    const char* in;
    bool ok;
    const char* local;
    const char* domain;
};

TEST(Address, Table) {
    const Case cases[] = {
        {"<a@example.org>", true, "a", "example.org"},
        {"<first.last+tag@sub.example.org>", true, "first.last+tag", "sub.example.org"},
        {"<\"quoted local\"@example.org>", true, "\"quoted local\"", "example.org"},
        {"<\"a>b\"@example.org>", true, "\"a>b\"", "example.org"},
        {"<@relay.example,@other.example:user@example.org>", true, "user", "example.org"},
        {"<@[192.0.2.1]:user@example.org>", true, "user", "example.org"},
        {"<@[IPv6:2001:db8::1],@relay.example:user@example.org>", true, "user", "example.org"},
        // A source route is ignored but still checked (found by address_fuzz: control octets
        // and spaces passed through it).
        {"<@relay\r\n:user@example.org>", false, "", ""},
        {"<@relay example:user@example.org>", false, "", ""},
        {"<@relay\x7f:user@example.org>", false, "", ""},
        {"<@:user@example.org>", false, "", ""},
        {"<@relay.example,other.example:user@example.org>", false, "", ""},
        {"<@relay.example,:user@example.org>", false, "", ""},
        {"<@relay.example> SIZE=1:user@example.org>", false, "", ""},
        {"<@[192.0.2.1:user@example.org>", false, "", ""},
        {"<@[192.0.2.1]user@example.org>", false, "", ""},
        {"<@-relay:user@example.org>", false, "", ""},
        {"<user@[192.0.2.1]>", true, "user", "[192.0.2.1]"},
        {"<user@[IPv6:2001:db8::1]>", true, "user", "[IPv6:2001:db8::1]"},
        {"<user@[300.0.0.1]>", false, "", ""},
        {"<a..b@example.org>", false, "", ""},
        {"<.a@example.org>", false, "", ""},
        {"<a.@example.org>", false, "", ""},
        {"<a@-example.org>", false, "", ""},
        {"<a@example..org>", false, "", ""},
        {"<a@example.org", false, "", ""},
        {"a@example.org", false, "", ""},
        {"<a b@example.org>", false, "", ""},
        {"<a@exa mple.org>", false, "", ""},
        {"<a\r@example.org>", false, "", ""},
        {"<\"a\rb\"@example.org>", false, "", ""},
        {"<@example.org>", false, "", ""},
        {"<a@>", false, "", ""},
        {"<alice@example.org)<bob@example.com>", false, "", ""},
        {"<alice@example.org<<bob@example.com>", false, "", ""},
    };
    for (const auto& c : cases) {
        auto r = parse_path(c.in, false, false);
        EXPECT_EQ(r.ok, c.ok) << c.in;
        if (r.ok && c.ok) {
            EXPECT_EQ(r.address.local, c.local) << c.in;
            EXPECT_EQ(r.address.domain, c.domain) << c.in;
        }
    }
}

TEST(Address, NullOnlyWhereAllowed) {
    EXPECT_TRUE(parse_path("<>", true, false).ok);
    EXPECT_TRUE(parse_path("<>", true, false).address.is_null());
    EXPECT_FALSE(parse_path("<>", false, false).ok);
}

TEST(Address, LengthBounds) {
    std::string l64(64, 'a'), l65(65, 'a');
    EXPECT_TRUE(parse_path("<" + l64 + "@example.org>", false, false).ok);
    auto r = parse_path("<" + l65 + "@example.org>", false, false);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error.problem, AddressProblem::local_too_long);

    // 63-octet labels: 4 labels of 63 + 3 dots = 255 octets.
    std::string label(63, 'b');
    std::string d255 = label + "." + label + "." + label + "." + label;
    ASSERT_EQ(d255.size(), 255u);
    EXPECT_TRUE(parse_path("<a@" + d255 + ">", false, false).ok);
    auto r2 = parse_path("<a@" + d255 + "c>", false, false);
    EXPECT_FALSE(r2.ok);
    EXPECT_EQ(r2.error.problem, AddressProblem::domain_too_long);
    EXPECT_FALSE(parse_path("<a@" + std::string(64, 'c') + ".org>", false, false).ok);
}

TEST(Address, Utf8NeedsSmtputf8) {
    auto r = parse_path("<jérôme@exemple.fr>", false, false);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error.problem, AddressProblem::non_ascii);
    EXPECT_TRUE(parse_path("<jérôme@exemple.fr>", false, true).ok);
    EXPECT_TRUE(parse_path("<a@éxample.fr>", false, true).ok);
    EXPECT_FALSE(parse_path("<a\xff@exemple.fr>", false, true).ok);          // not UTF-8
    EXPECT_FALSE(parse_path("<a\xc0\xaf@exemple.fr>", false, true).ok);      // overlong
    EXPECT_FALSE(parse_path("<a\xed\xa0\x80@exemple.fr>", false, true).ok);  // surrogate
}

TEST(Address, ConsumedStopsAtClosingBracket) {
    auto r = parse_path("<a@example.org> SIZE=10", true, false);
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(r.consumed, 15u);
}

}  // namespace

TEST(Address, LiteralOctetsAreCheckedBeforeInetPton) {
    EXPECT_FALSE(parse_path(std::string("<a@[1.2.3.4\0junk]>", 19), false, false).ok);
    EXPECT_FALSE(parse_path("<a@[1.2.3.4 x]>", false, false).ok);
    EXPECT_TRUE(parse_path("<a@[IPv6:2001:DB8::1]>", false, false).ok);
}

TEST(Address, SourceRouteIsChecked) {
    // address_fuzz's input: NUL and other octets inside the (ignored) source route.
    const std::string route(
        "<@relare,\x8f\xd9\x06\x00"
        "0`\x00\x00mx:pleauser@example.org>",
        41);
    EXPECT_FALSE(parse_path(route, true, true).ok);
    EXPECT_FALSE(parse_path(route, true, false).ok);
    EXPECT_TRUE(parse_path("<@r\xc3\xa9lais.example:a@example.org>", false, true).ok);
    EXPECT_FALSE(parse_path("<@r\xc3\xa9lais.example:a@example.org>", false, false).ok);
    EXPECT_FALSE(parse_path("<@r\xc3lais.example:a@example.org>", false, true).ok);
}
