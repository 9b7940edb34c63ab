#include "smtp/received.hpp"

#include <gtest/gtest.h>

using namespace referent::smtp;

namespace {

const auto when = std::chrono::system_clock::time_point{} + std::chrono::seconds(1795872000);

TEST(Received, Ipv4OneRecipient) {
    ReceivedInfo info{"mx.example.org",      "192.0.2.1", "gw.example.gov", "ESMTPS", "ID1",
                      "service@example.gov", when};
    EXPECT_EQ(format_received(info),
              "Received: from mx.example.org ([192.0.2.1])\r\n"
              "\tby gw.example.gov (Referent) with ESMTPS id ID1\r\n"
              "\tfor <service@example.gov>; Sat, 28 Nov 2026 13:20:00 +0000\r\n");
}

TEST(Received, Ipv6TaggedAndNoRecipientListWhenSeveral) {
    ReceivedInfo info{"mx", "2001:db8::1", "gw", "LMTP", "ID2", "", when};
    EXPECT_EQ(format_received(info),
              "Received: from mx ([IPv6:2001:db8::1])\r\n"
              "\tby gw (Referent) with LMTP id ID2; Sat, 28 Nov 2026 13:20:00 +0000\r\n");
}

TEST(Received, ProtocolKeywords) {
    EXPECT_EQ(protocol_keyword(false, false, false, false), "SMTP");
    EXPECT_EQ(protocol_keyword(false, true, true, false), "ESMTPS");
    EXPECT_EQ(protocol_keyword(false, true, false, true), "UTF8SMTP");
    EXPECT_EQ(protocol_keyword(true, true, true, true), "UTF8LMTPS");
}

}  // namespace
