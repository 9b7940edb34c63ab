// Bounds before parsing (vectors G): every bound at the bound and one past it, and the hostile
// shapes refused without recursion. No timed assertion: these tests must simply finish.
#include "mail/mime_bounds.hpp"

#include <gtest/gtest.h>

#include "mail/message.hpp"
#include "mail_fixtures.hpp"

namespace referent::mail {
namespace {

using test::nested_messages;
using test::nested_multiparts;
using test::wide_multipart;

ParseLimits limits_with_depth(std::uint32_t depth) {
    ParseLimits l;
    l.max_mime_depth = depth;
    return l;
}

void expect_refused(const std::string& bytes, const ParseLimits& limits, RefusalKind kind) {
    MailResult<Message> r = parse(bytes, limits);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.refusal().kind, kind) << r.refusal().reason;
    EXPECT_FALSE(r.refusal().reason.empty());
}

TEST(MimeBounds, CountsDepthAndParts) {
    BoundsScan s = scan_bounds(nested_multiparts(5), ParseLimits{});
    EXPECT_FALSE(s.refusal);
    EXPECT_EQ(s.depth, 5u);
    EXPECT_EQ(s.parts, 6u);
    s = scan_bounds(nested_messages(5), ParseLimits{});
    EXPECT_EQ(s.depth, 5u);
    EXPECT_EQ(s.parts, 6u);
    s = scan_bounds(wide_multipart(7), ParseLimits{});
    EXPECT_EQ(s.depth, 1u);
    EXPECT_EQ(s.parts, 8u);
}

TEST(MimeBounds, G1NestedMultipartsAtTheDepthBoundAndOnePast) {
    const std::string g1 = nested_multiparts(101);
    expect_refused(g1, limits_with_depth(32), RefusalKind::too_deep);
    expect_refused(g1, limits_with_depth(100), RefusalKind::too_deep);
    for (std::uint32_t depth : {101u, 102u, 1024u}) {
        MailResult<Message> r = parse(g1, limits_with_depth(depth));
        ASSERT_TRUE(r.ok()) << depth << ": " << r.refusal().reason;
        EXPECT_EQ(r->parts().size(), 102u);
        EXPECT_EQ(r->parts().back().depth, 101u);
        EXPECT_EQ(r->parts().back().content_type, "text/plain");
        EXPECT_FALSE(r->damaged());
    }
}

TEST(MimeBounds, G2HundredThousandNestedMultipartsRefusedWithoutParsing) {
    expect_refused(nested_multiparts(100000), ParseLimits{}, RefusalKind::too_deep);
}

TEST(MimeBounds, G3NestedMessagesAtTheBoundAndOnePast) {
    const std::string g3 = nested_messages(101);
    expect_refused(g3, limits_with_depth(100), RefusalKind::too_deep);
    MailResult<Message> r = parse(g3, limits_with_depth(101));
    ASSERT_TRUE(r.ok()) << r.refusal().reason;
    EXPECT_EQ(r->parts().size(), 102u);
    EXPECT_TRUE(r->parts().back().in_attached_message);
    expect_refused(nested_messages(100000), ParseLimits{}, RefusalKind::too_deep);
}

TEST(MimeBounds, G4PartCountAtTheBoundAndOnePast) {
    ParseLimits l;
    l.max_mime_parts = 1000;
    MailResult<Message> r = parse(wide_multipart(999), l);  // 1,000 entities with the root
    ASSERT_TRUE(r.ok()) << r.refusal().reason;
    EXPECT_EQ(r->parts().size(), 1000u);
    expect_refused(wide_multipart(1000), l, RefusalKind::too_many_parts);
    l.max_mime_parts = 100000;  // the largest configurable bound
    expect_refused(wide_multipart(200000), l, RefusalKind::too_many_parts);
}

std::string message_with_header_block(std::size_t octets) {
    std::string head = "From: a@example.org\r\nSubject: ";
    head += std::string(octets - head.size() - 2, 'x') + "\r\n";
    return head + "\r\nbody\r\n";
}

TEST(MimeBounds, HeaderBlockAtTheBoundAndOnePast) {
    ParseLimits l;
    l.max_header_size = 1024;
    MailResult<Message> r = parse(message_with_header_block(1024), l);
    ASSERT_TRUE(r.ok()) << r.refusal().reason;
    EXPECT_EQ(scan_bounds(message_with_header_block(1024), l).header_size, 1024u);
    expect_refused(message_with_header_block(1025), l, RefusalKind::header_too_large);
}

TEST(MimeBounds, PartHeaderBlocksAreBoundedToo) {
    ParseLimits l;
    l.max_header_size = 1024;
    std::string s =
        "From: a@example.org\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n";
    s += "X-Pad: " + std::string(2000, 'p') + "\r\n\r\nx\r\n--b--\r\n";
    expect_refused(s, l, RefusalKind::header_too_large);
}

TEST(MimeBounds, G5TwoHundredThousandHeaderLines) {
    std::string s = "From: a@example.org\r\n";
    for (int i = 0; i < 200000; ++i) s += "X-H: v\r\n";
    s += "\r\nbody\r\n";
    expect_refused(s, ParseLimits{}, RefusalKind::header_too_large);
}

TEST(MimeBounds, MessageSizeAtTheBoundAndOnePast) {
    ParseLimits l;
    l.max_message_size = 2048;
    std::string s = "From: a@example.org\r\nSubject: size\r\n\r\n";
    s += std::string(2048 - s.size(), 'b');
    ASSERT_EQ(s.size(), 2048u);
    EXPECT_TRUE(parse(s, l).ok());
    expect_refused(s + "b", l, RefusalKind::too_large);
}

// Vector G6: a boundary that is a prefix of the enclosing one, in both directions.
std::string prefixed(const std::string& outer, const std::string& inner) {
    return "From: a@example.org\r\nContent-Type: multipart/mixed; boundary=\"" + outer +
           "\"\r\n\r\n--" + outer + "\r\nContent-Type: multipart/alternative; boundary=\"" + inner +
           "\"\r\n\r\n--" + inner + "\r\nContent-Type: text/plain\r\n\r\ninner\r\n--" + inner +
           "--\r\n--" + outer + "\r\nContent-Type: text/html\r\n\r\nouter\r\n--" + outer + "--\r\n";
}

TEST(MimeBounds, G6BoundaryPrefixingTheOuterOne) {
    for (auto [outer, inner] : {std::pair<std::string, std::string>{"abc", "abcd"},
                                std::pair<std::string, std::string>{"abcd", "abc"},
                                std::pair<std::string, std::string>{"abc", "abc--"}}) {
        const std::string bytes = prefixed(outer, inner);
        BoundsScan s = scan_bounds(bytes, ParseLimits{});
        EXPECT_EQ(s.parts, 4u) << outer << " / " << inner;
        MailResult<Message> r = parse(bytes, ParseLimits{});
        ASSERT_TRUE(r.ok());
        ASSERT_EQ(r->parts().size(), 4u) << outer << " / " << inner;
        EXPECT_EQ(r->parts()[1].content_type, "multipart/alternative");
        EXPECT_EQ(r->parts()[2].content_type, "text/plain");
        EXPECT_EQ(r->parts()[3].content_type, "text/html");
        EXPECT_EQ(r->parts()[3].depth, 1u);
        EXPECT_EQ(r->text(3).value_or(""), "outer");
    }
}

TEST(MimeBounds, G6LongBoundaryMarksTheMessageDamaged) {
    const std::string b(5000, 'x');
    std::string s = "From: a@example.org\r\nContent-Type: multipart/mixed; boundary=\"" + b +
                    "\"\r\n\r\n--" + b + "\r\nContent-Type: text/plain\r\n\r\n";
    for (int i = 0; i < 2000; ++i) s += "--" + b.substr(1) + "\r\n";  // near misses
    s += "--" + b + "--\r\n";
    MailResult<Message> r = parse(s, ParseLimits{});
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->damaged());
    ASSERT_TRUE(r->refuse_rewrite());
    EXPECT_EQ(r->refuse_rewrite()->kind, RefusalKind::damaged);
}

std::string with_boundary(std::size_t length) {
    const std::string b(length, 'y');
    return "From: a@example.org\r\nContent-Type: multipart/mixed; boundary=\"" + b +
           "\"\r\n\r\n--" + b + "\r\nContent-Type: text/plain\r\n\r\none\r\n--" + b + "--\r\n";
}

TEST(MimeBounds, BoundaryLengthAtTheLineLimitAndOnePast) {
    EXPECT_TRUE(scan_bounds(with_boundary(max_boundary_length), ParseLimits{}).damage.empty());
    EXPECT_EQ(scan_bounds(with_boundary(max_boundary_length + 1), ParseLimits{}).damage.size(), 1u);
    MailResult<Message> r = parse(with_boundary(max_boundary_length), ParseLimits{});
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r->damaged());
    EXPECT_EQ(r->parts().size(), 2u);
}

TEST(MimeBounds, EncodedMessageBodiesAreLeaves) {
    // GMime keeps a base64 message/rfc822 as a leaf: no nested entity to count.
    std::string s =
        "From: a@example.org\r\nContent-Type: message/rfc822\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogaGkNCg0KYm9keQ0K\r\n";
    EXPECT_EQ(scan_bounds(s, ParseLimits{}).parts, 1u);
    MailResult<Message> r = parse(s, ParseLimits{});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->parts().size(), 1u);
}

TEST(MimeBounds, DigestPartsDefaultToMessages) {
    std::string s =
        "From: a@example.org\r\nContent-Type: multipart/digest; boundary=d\r\n\r\n"
        "--d\r\n\r\nSubject: inner\r\n\r\nbody\r\n--d--\r\n";
    BoundsScan scan = scan_bounds(s, ParseLimits{});
    EXPECT_EQ(scan.parts, 3u);
    EXPECT_EQ(scan.depth, 2u);
    MailResult<Message> r = parse(s, ParseLimits{});
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->parts().size(), 3u);
    EXPECT_EQ(r->parts()[1].content_type, "message/rfc822");
}

TEST(MimeBounds, MboxFromLineIsNotAHeader) {
    std::string s = "From MAILER-DAEMON Mon 1 Jan 2015 00:00:00 +0900\nSubject: x\n\nbody\n";
    EXPECT_EQ(scan_bounds(s, ParseLimits{}).header_size, 11u);  // "Subject: x\n"
}

}  // namespace
}  // namespace referent::mail
