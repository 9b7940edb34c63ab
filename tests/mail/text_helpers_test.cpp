// The small text readers under the mail engine: Content-Type values, field blocks, UTF-8, and
// the heuristics that read bounces written for humans.
#include <gtest/gtest.h>

#include "mail/bounce_text.hpp"
#include "mail/content_type.hpp"
#include "mail/fields.hpp"
#include "mail/utf8.hpp"

namespace referent::mail {
namespace {

TEST(ContentType, Forms) {
    struct Case {
        const char* in;
        const char* type;
        const char* subtype;
        const char* boundary;
    };
    const Case cases[] = {
        {"multipart/mixed; boundary=\"abc\"", "multipart", "mixed", "abc"},
        {" Multipart/Alternative ;\r\n\tBOUNDARY=----=_Part_1_2.3", "multipart", "alternative",
         "----=_Part_1_2.3"},
        {"multipart/mixed; boundary=\"a;b c\"; charset=x", "multipart", "mixed", "a;b c"},
        {"multipart/mixed (comment); boundary=\"a\\\"b\"", "multipart", "mixed", "a\"b"},
        {"multipart/mixed; boundary=one; boundary=two", "multipart", "mixed", "two"},
        {"multipart/mixed; boundary*0=\"ab\"; boundary*1=\"cd\"", "multipart", "mixed", "abcd"},
        {"multipart/mixed; boundary*=us-ascii'en'a%20b", "multipart", "mixed", "a b"},
        {"multipart/mixed; junk; boundary=x", "multipart", "mixed", "x"},
        {"text/plain", "text", "plain", ""},
        {"text", "", "", ""},
        {"", "", "", ""},
        {"multipart/mixed; boundary=\"unterminated", "multipart", "mixed", "unterminated"},
    };
    for (const Case& c : cases) {
        ContentType ct = parse_content_type(c.in);
        EXPECT_EQ(ct.type, c.type) << c.in;
        EXPECT_EQ(ct.subtype, c.subtype) << c.in;
        EXPECT_EQ(ct.parameter("boundary"), c.boundary) << c.in;
    }
    EXPECT_EQ(first_token(" 8bit (comment)"), "8bit");
    EXPECT_EQ(first_token("base64"), "base64");
}

TEST(Fields, BlocksFoldingAndJunk) {
    std::vector<FieldBlock> blocks = parse_field_blocks(
        "\r\nReporting-MTA: dns; mx\r\nnot a field\r\n\r\n  \r\n"
        "Final-Recipient: rfc822; a@b.example\r\nDiagnostic-Code: smtp; 550\r\n  more\r\n"
        "\r\nStatus: 5.0.0");
    ASSERT_EQ(blocks.size(), 3u);
    EXPECT_EQ(field_value(blocks[0], "reporting-mta"), "dns; mx");
    EXPECT_EQ(field_value(blocks[1], "Diagnostic-Code"), "smtp; 550 more");
    EXPECT_TRUE(has_field(blocks[2], "STATUS"));
    EXPECT_EQ(field_value(blocks[2], "Action"), "");
    EXPECT_EQ(parse_field_blocks("A: 1\n\nB: 2\n\nC: 3\n", 2).size(), 2u);
}

TEST(Utf8, ValidityAndRepair) {
    EXPECT_TRUE(is_valid_utf8("h\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
    for (const char* bad : {"\xC3", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xFF"})
        EXPECT_FALSE(is_valid_utf8(bad)) << bad;
    EXPECT_EQ(valid_utf8("a\xFF"
                         "b"),
              "a\xEF\xBF\xBD"
              "b");
    EXPECT_EQ(windows1252_to_utf8("\x80\x92\xE9\x81"),
              "\xE2\x82\xAC\xE2\x80\x99\xC3\xA9\xEF\xBF\xBD");
}

TEST(BounceText, StatusCodes) {
    EXPECT_EQ(find_status_code("550 5.1.1 user unknown", "45"), "5.1.1");
    EXPECT_EQ(find_status_code("said: 452 4.2.2 over quota.", "45"), "4.2.2");
    EXPECT_EQ(find_status_code("5.1.351 Remote server", "45"), "5.1.351");
    EXPECT_EQ(find_status_code("host [192.0.2.25] Exim 4.82", "45"), "");
    EXPECT_EQ(find_status_code("version 5.1.1.4 build", "45"), "");
    EXPECT_EQ(find_status_code("2.0.0 ok", "45"), "");
    EXPECT_EQ(find_status_code("2.0.0 ok", "245"), "2.0.0");
}

TEST(BounceText, Addresses) {
    EXPECT_EQ(addresses_in("rfc822;<a.b+c@example.org>, x@y", 10),
              (std::vector<std::string>{"a.b+c@example.org"}));
    EXPECT_EQ(first_recipient_in("To: sender@example.org\nuser@host.example: 550 no\n",
                                 {"someone@example.org"}),
              "user@host.example");
    EXPECT_EQ(first_recipient_in("MAILER-DAEMON@mx.example failed for me@example.org\n",
                                 {"ME@example.org"}),
              "");
    EXPECT_EQ(find_message_id(" <abc@example.org> (comment)"), "abc@example.org");
    EXPECT_EQ(find_message_id("abc@example.org"), "abc@example.org");
    EXPECT_EQ(find_message_id("<not an id>"), "");
    EXPECT_EQ(quoted_message_id("text\n> Message-Id: <q@example.org>\n"), "q@example.org");
    EXPECT_EQ(diagnostic_line("a\n  451-4.3.0 busy\n", ""), "451-4.3.0 busy");
    EXPECT_EQ(html_to_text("<p>a&lt;b&#64;c.example&gt;</p><script>x@y.example</script>z"),
              "\na<b@c.example>z");
}

}  // namespace
}  // namespace referent::mail
