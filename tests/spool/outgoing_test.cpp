// outgoing/: the item format round trip and refusals, an idempotent batch commit, the retry
// state rewritten in place, removal, and recovery of a half commit.
#include "spool/outgoing.hpp"

#include <gtest/gtest.h>

#include "spool/temp_dir.hpp"

namespace referent::spool {
namespace {

using std::chrono::seconds;
using std::chrono::system_clock;

const system_clock::time_point t0{seconds(1'790'000'000)};

OutgoingItem sample(std::string id) {
    OutgoingItem i;
    i.id = std::move(id);
    i.source = "0641a2b3c4d5e6a1b2c3";
    i.kind = "reply";
    i.case_number = "EC-2026-000042";
    i.delivery = 77;
    i.mail_from = "etat-civil+abc@mairie.example.fr";
    i.rcpt = "elodie@example.org";
    i.created = t0;
    i.attempts = 2;
    i.next_attempt = t0 + seconds(300);
    i.last_error = "451 4.3.0 try later";
    return i;
}

TEST(OutgoingFormat, RoundTripsAndRefusesWhatItCannotRead) {
    const OutgoingItem i = sample("0641a2b3c4d5e6a1b2c3o0");
    auto back = parse_outgoing(format_outgoing(i));
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(*back, i);
    OutgoingItem null_sender = i;
    null_sender.mail_from = "";
    EXPECT_EQ(*parse_outgoing(format_outgoing(null_sender)), null_sender);
    for (const char* bad : {"", "referent-outgoing 2\nid: a\n", "referent-outgoing 1\nid: a",
                            "referent-outgoing 1\nid a\n", "referent-outgoing 1\nwho: x\n",
                            "referent-outgoing 1\nid: a\nrcpt: b\nattempts: x\n",
                            "referent-outgoing 1\nid: a/b\nrcpt: b\n",
                            "referent-outgoing 1\nid: a\n"})
        EXPECT_FALSE(parse_outgoing(bad).ok()) << bad;
}

class OutgoingTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto s = Spool::open(dir_.path() / "spool", clock_, random_);
        ASSERT_TRUE(s.ok());
        spool_.emplace(std::move(s).value());
    }
    test::TempDir dir_;
    util::ManualClock clock_{t0};
    util::SequenceRandom random_;
    std::optional<Spool> spool_;
};

TEST_F(OutgoingTest, CommitIsDurableOnceAndIdempotent) {
    Outgoing out(*spool_);
    std::vector<OutgoingMessage> batch{{sample("aaa0"), "A\r\n"}, {sample("aaa1"), "B\r\n"}};
    ASSERT_TRUE(out.commit(batch).ok());
    EXPECT_EQ(out.ids(), (std::vector<std::string>{"aaa0", "aaa1"}));
    EXPECT_EQ(*out.bytes("aaa1", 1024), "B\r\n");
    // A replay after a crash commits the same ids again: what is there stays as it is.
    batch[1].bytes = "changed";
    ASSERT_TRUE(out.commit(batch).ok());
    EXPECT_EQ(*out.bytes("aaa1", 1024), "B\r\n");
    EXPECT_TRUE(test::list_dir(spool_->tmp_dir()).empty());
    // Values that would break the file are refused before anything is written.
    OutgoingItem bad = sample("aaa2");
    bad.rcpt = "x@y\r\nrcpt: z@w";
    EXPECT_FALSE(out.commit({{bad, "C"}}).ok());
    EXPECT_EQ(out.ids().size(), 2u);
}

TEST_F(OutgoingTest, UpdateRemoveAndRecover) {
    Outgoing out(*spool_);
    ASSERT_TRUE(out.commit({{sample("bbb0"), "A"}, {sample("bbb1"), "B"}}).ok());
    OutgoingItem i = *out.item("bbb0");
    i.attempts = 3;
    i.last_error = "421 4.4.2 timeout";
    ASSERT_TRUE(out.update(i).ok());
    EXPECT_EQ(*out.item("bbb0"), i);
    ASSERT_TRUE(out.remove("bbb1").ok());
    ASSERT_TRUE(out.remove("bbb1").ok());  // already gone is fine
    EXPECT_EQ(out.ids(), (std::vector<std::string>{"bbb0"}));
    // A crash between the two renames leaves a .msg without its .out: recovery removes it.
    test::write_bytes(spool_->outgoing_dir() / "ccc0.msg", "half");
    auto waiting = out.recover();
    ASSERT_TRUE(waiting.ok());
    EXPECT_EQ(*waiting, 1u);
    EXPECT_FALSE(std::filesystem::exists(spool_->outgoing_dir() / "ccc0.msg"));
}

}  // namespace
}  // namespace referent::spool
