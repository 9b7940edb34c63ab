// outgoing/: the item format round trip and refusals, one file per item committed once, bodies
// kept byte for byte, the header read without the body, the retry state in its sidecar, removal,
// and recovery: stray files and the upgrade of the previous two-file layout.
#include "spool/outgoing.hpp"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include <set>

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
    // The header ends at the blank line: what follows (the body) is not parsed.
    auto with_body = parse_outgoing(format_outgoing(i) + "\nrcpt: not a header\n");
    ASSERT_TRUE(with_body.ok()) << with_body.error().message;
    EXPECT_EQ(*with_body, i);
    for (const char* bad :
         {"", "referent-outgoing 1\nid: a\nrcpt: b\n", "referent-outgoing 2\nid: a",
          "referent-outgoing 2\nid a\n", "referent-outgoing 2\nwho: x\n",
          "referent-outgoing 2\nid: a\nrcpt: b\nattempts: x\n",
          "referent-outgoing 2\nid: a/b\nrcpt: b\n", "referent-outgoing 2\nid: a\n",
          "referent-outgoing 2\n\nid: a\nrcpt: b\n"})
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

    std::set<std::string> outgoing_files() const { return test::list_dir(spool_->outgoing_dir()); }
    std::filesystem::path in_outgoing(const std::string& name) const {
        return spool_->outgoing_dir() / name;
    }
};

TEST_F(OutgoingTest, CommitWritesOneFilePerItemOnceAndIdempotently) {
    Outgoing out(*spool_);
    std::vector<OutgoingMessage> batch{{sample("aaa0"), "A\r\n"}, {sample("aaa1"), "B\r\n"}};
    ASSERT_TRUE(out.commit(batch).ok());
    EXPECT_EQ(outgoing_files(), (std::set<std::string>{"aaa0.item", "aaa1.item"}));
    EXPECT_EQ(test::read_bytes(in_outgoing("aaa1.item")),
              format_outgoing(sample("aaa1")) + "\nB\r\n");
    EXPECT_EQ(out.ids(), (std::vector<std::string>{"aaa0", "aaa1"}));
    EXPECT_EQ(*out.item("aaa1"), sample("aaa1"));
    EXPECT_EQ(*out.bytes("aaa1", 1024), "B\r\n");
    // A replay after a crash commits the same ids again: what is there stays as it is.
    batch[1].bytes = "changed";
    batch.push_back({sample("aaa2"), "C\r\n"});
    ASSERT_TRUE(out.commit(batch).ok());
    EXPECT_EQ(*out.bytes("aaa1", 1024), "B\r\n");
    EXPECT_EQ(*out.bytes("aaa2", 1024), "C\r\n");
    EXPECT_EQ(outgoing_files(), (std::set<std::string>{"aaa0.item", "aaa1.item", "aaa2.item"}));
    EXPECT_TRUE(test::list_dir(spool_->tmp_dir()).empty());
    // Values that would break the file are refused before anything is written.
    OutgoingItem bad = sample("aaa3");
    bad.rcpt = "x@y\r\nrcpt: z@w";
    EXPECT_FALSE(out.commit({{bad, "C"}}).ok());
    bad.rcpt = std::string(64 << 10, 'x');  // a header past 64 KiB could not be read back
    EXPECT_FALSE(out.commit({{bad, "C"}}).ok());
    EXPECT_EQ(out.ids().size(), 3u);
    EXPECT_TRUE(test::list_dir(spool_->tmp_dir()).empty());
}

// A recycled file goes from its pool name straight to outgoing/; a commit that fails before
// its renames leaves nothing under tmp/, pooled or not.
TEST_F(OutgoingTest, RecycledFilesAreRenamedOnceAndFailuresLeaveNothingInTmp) {
    Outgoing out(*spool_);
    const auto old = spool_->tmp_dir() / "old";
    test::write_bytes(old, std::string(3000, 'z'));
    struct stat st {};
    ASSERT_EQ(::stat(old.c_str(), &st), 0);
    ASSERT_TRUE(spool_->retire_file(old.string()));
    ASSERT_EQ(test::list_dir(spool_->tmp_dir()).size(), 1u) << "in the pool";
    ASSERT_TRUE(out.commit({{sample("bbb0"), "B\r\n"}}).ok());
    struct stat item {};
    ASSERT_EQ(::stat(in_outgoing("bbb0.item").c_str(), &item), 0);
    EXPECT_EQ(item.st_ino, st.st_ino) << "the pooled file, not a new one";
    EXPECT_EQ(*out.bytes("bbb0", 1024), "B\r\n") << "cut to what was written";
    EXPECT_TRUE(test::list_dir(spool_->tmp_dir()).empty());

    ASSERT_TRUE(spool_->retire_file(in_outgoing("bbb0.item").string()));
    ASSERT_EQ(test::list_dir(spool_->tmp_dir()).size(), 1u);
    std::filesystem::remove_all(spool_->outgoing_dir());  // every rename fails
    EXPECT_FALSE(out.commit({{sample("bbb1"), "C"}, {sample("bbb2"), "D"}}).ok());
    EXPECT_TRUE(test::list_dir(spool_->tmp_dir()).empty()) << "the written files are removed";
}

TEST_F(OutgoingTest, BodyRoundTripsByteForByte) {
    Outgoing out(*spool_);
    const std::string body("Subject: x\r\n\r\n\n\nrcpt: z@w\n\n\0\0end\r\n\r\n.\r\n", 39);
    ASSERT_TRUE(out.commit({{sample("ddd0"), body}, {sample("ddd1"), ""}}).ok());
    EXPECT_EQ(*out.bytes("ddd0", body.size()), body);
    EXPECT_EQ(*out.item("ddd0"), sample("ddd0"));
    EXPECT_EQ(*out.bytes("ddd1", 0), "");
    EXPECT_FALSE(out.bytes("ddd0", body.size() - 1).ok());  // the limit is on the body
}

TEST_F(OutgoingTest, ItemReadsTheHeaderNotTheBody) {
    Outgoing out(*spool_);
    std::string big(8 << 20, 'a');
    for (std::size_t at = 0; at < big.size(); at += 1000) big.replace(at, 2, "\r\n");
    ASSERT_TRUE(out.commit({{sample("eee0"), big}}).ok());
    auto i = out.item("eee0");
    ASSERT_TRUE(i.ok()) << i.error().message;
    EXPECT_EQ(*i, sample("eee0"));  // a whole-file read bounded at 64 KiB would have failed
    EXPECT_FALSE(out.bytes("eee0", 1024).ok());
    EXPECT_EQ(*out.bytes("eee0", big.size()), big);
    // A header whose blank line is not within 64 KiB is refused.
    std::string no_end = format_outgoing(sample("eee2"));
    no_end += std::string((64 << 10) - no_end.size(), 'c') + "\n\n";
    test::write_bytes(in_outgoing("eee2.item"), no_end);
    EXPECT_FALSE(out.item("eee2").ok());
    EXPECT_FALSE(out.bytes("eee2", 1 << 20).ok());
    test::write_bytes(in_outgoing("eee3.item"), format_outgoing(sample("eee3")));
    EXPECT_FALSE(out.item("eee3").ok());
}

TEST_F(OutgoingTest, UpdateWritesTheRetryStateBesideTheItem) {
    Outgoing out(*spool_);
    ASSERT_TRUE(out.commit({{sample("bbb0"), "A"}, {sample("bbb1"), "B"}}).ok());
    const std::string committed = test::read_bytes(in_outgoing("bbb0.item"));
    OutgoingItem i = *out.item("bbb0");
    i.attempts = 3;
    i.next_attempt = t0 + seconds(900);
    i.last_error = "421 4.4.2 timeout";
    ASSERT_TRUE(out.update(i).ok());
    EXPECT_EQ(*out.item("bbb0"), i);
    EXPECT_EQ(test::read_bytes(in_outgoing("bbb0.item")), committed);  // the body is not rewritten
    EXPECT_EQ(test::read_bytes(in_outgoing("bbb0.retry")),
              "attempts: 3\nnext-attempt: 1790000900\nlast-error: 421 4.4.2 timeout\n");
    i.attempts = 4;
    ASSERT_TRUE(out.update(i).ok());
    EXPECT_EQ(out.item("bbb0")->attempts, 4u);
    EXPECT_EQ(out.ids(), (std::vector<std::string>{"bbb0", "bbb1"}));
    EXPECT_TRUE(test::list_dir(spool_->tmp_dir()).empty());
    // The sidecar holds the retry state only: anything else in it makes the item unreadable.
    test::write_bytes(in_outgoing("bbb1.retry"), "rcpt: someone@else.example\n");
    EXPECT_FALSE(out.item("bbb1").ok());
    i.last_error = "421\r\nrcpt: x";
    EXPECT_FALSE(out.update(i).ok());
}

TEST_F(OutgoingTest, RemoveDropsTheItemAndItsRetryState) {
    Outgoing out(*spool_);
    ASSERT_TRUE(
        out.commit({{sample("bbb0"), "A"}, {sample("bbb1"), "B"}, {sample("bbb2"), "C"}}).ok());
    ASSERT_TRUE(out.update(sample("bbb0")).ok());
    ASSERT_TRUE(out.remove(std::vector<std::string>{"bbb0", "bbb1"}).ok());
    ASSERT_TRUE(out.remove("bbb1").ok());  // already gone is fine
    EXPECT_EQ(outgoing_files(), (std::set<std::string>{"bbb2.item"}));
    EXPECT_EQ(out.ids(), (std::vector<std::string>{"bbb2"}));
}

TEST_F(OutgoingTest, RecoverRemovesStrayFiles) {
    Outgoing out(*spool_);
    ASSERT_TRUE(out.commit({{sample("ccc0"), "A"}}).ok());
    ASSERT_TRUE(out.update(sample("ccc0")).ok());
    // A lone .msg is a half commit of the previous layout; a lone .retry, a crash in remove().
    test::write_bytes(in_outgoing("ccc1.msg"), "half");
    test::write_bytes(in_outgoing("ccc2.retry"), "attempts: 1\n");
    auto waiting = out.recover();
    ASSERT_TRUE(waiting.ok()) << waiting.error().message;
    EXPECT_EQ(*waiting, 1u);
    EXPECT_EQ(outgoing_files(), (std::set<std::string>{"ccc0.item", "ccc0.retry"}));
}

TEST_F(OutgoingTest, RecoverUpgradesThePreviousLayout) {
    Outgoing out(*spool_);
    // As the previous version left them: the bytes in <id>.msg, the item in <id>.out.
    const std::string old_item =
        "referent-outgoing 1\nid: fff0\nsource: 0641a2b3c4d5e6a1b2c3\nkind: reply\n"
        "case: EC-2026-000042\ndelivery: 77\nmail-from: etat-civil+abc@mairie.example.fr\n"
        "rcpt: elodie@example.org\ncreated: 1790000000\nattempts: 2\nnext-attempt: 1790000300\n"
        "last-error: 451 4.3.0 try later\n";
    const std::string body("Subject: old\r\n\r\n\n\nbody\0\r\n", 25);
    test::write_bytes(in_outgoing("fff0.msg"), body);
    test::write_bytes(in_outgoing("fff0.out"), old_item);
    // A crash after the .item was renamed in, before the pair was unlinked.
    ASSERT_TRUE(out.commit({{sample("fff1"), "B"}}).ok());
    test::write_bytes(in_outgoing("fff1.msg"), "B");
    test::write_bytes(in_outgoing("fff1.out"), "referent-outgoing 1\nid: fff1\nrcpt: x@y\n");
    // An .out it cannot read is left with its .msg for an operator.
    test::write_bytes(in_outgoing("fff2.msg"), "C");
    test::write_bytes(in_outgoing("fff2.out"), "garbage");
    auto waiting = out.recover();
    ASSERT_TRUE(waiting.ok()) << waiting.error().message;
    EXPECT_EQ(*waiting, 2u);
    EXPECT_EQ(outgoing_files(),
              (std::set<std::string>{"fff0.item", "fff1.item", "fff2.msg", "fff2.out"}));
    EXPECT_EQ(*out.item("fff0"), sample("fff0"));
    EXPECT_EQ(*out.bytes("fff0", 1024), body);
    EXPECT_EQ(*out.item("fff1"), sample("fff1"));
    EXPECT_EQ(out.ids(), (std::vector<std::string>{"fff0", "fff1"}));
    EXPECT_TRUE(test::list_dir(spool_->tmp_dir()).empty());
    auto again = out.recover();  // nothing left to do
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, 2u);
}

TEST_F(OutgoingTest, FlushAlwaysMakesACoveringFlushWhenNothingIsNew) {
    Outgoing out(*spool_);
    std::vector<OutgoingMessage> batch{{sample("aaa0"), "A\r\n"}};
    std::uint64_t before = spool_->flush_ticket();
    ASSERT_TRUE(out.commit(batch).ok());
    EXPECT_EQ(spool_->flush_ticket(), before + 1) << "a fresh item: syncfs and fsync outgoing/";
    EXPECT_TRUE(spool_->wait_flushed(before, std::chrono::milliseconds(0)));
    before = spool_->flush_ticket();
    ASSERT_TRUE(out.commit(batch).ok());
    EXPECT_EQ(spool_->flush_ticket(), before) << "nothing new, nothing to flush";
    // A store whose commits wait for the spool's flush (SQLite, Durability::caller).
    ASSERT_TRUE(out.commit(batch, {.flush_always = true}).ok());
    EXPECT_EQ(spool_->flush_ticket(), before + 1);
    EXPECT_TRUE(spool_->wait_flushed(before, std::chrono::milliseconds(0)));
}

TEST_F(OutgoingTest, AStoreThatSyncsItsLogLetsALoneMessageFsyncItsOwnFiles) {
    Outgoing out(*spool_);
    int synced = 0;
    bool log_ok = true;
    const Outgoing::CommitOptions options{.flush_always = true,
                                          .share_wait = std::chrono::milliseconds(50),
                                          .fsync_each_up_to = 2,
                                          .sync_store = [&]() -> util::Status {
                                              ++synced;
                                              if (log_ok) return {};
                                              return util::Error::temporary("log: EIO");
                                          }};
    std::this_thread::sleep_for(std::chrono::milliseconds(60));  // nobody flushed lately
    std::uint64_t before = spool_->flush_ticket();
    ASSERT_TRUE(out.commit({{sample("aaa0"), "A\r\n"}, {sample("aaa1"), "B\r\n"}}, options).ok());
    EXPECT_EQ(synced, 1) << "the store's log, before the renames";
    EXPECT_EQ(spool_->flush_ticket(), before) << "no syncfs: each file fsynced";
    EXPECT_EQ(*out.bytes("aaa1", 1024), "B\r\n");
    // Without the store's hook the same commit needs a covering flush.
    auto no_hook = options;
    no_hook.sync_store = nullptr;
    ASSERT_TRUE(out.commit({{sample("aaa2"), "C\r\n"}}, no_hook).ok());
    EXPECT_EQ(spool_->flush_ticket(), before + 1);
    // Three new items: past fsync_each_up_to, a covering flush, the hook unused.
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    before = spool_->flush_ticket();
    ASSERT_TRUE(
        out.commit(
               {{sample("aab0"), "D\r\n"}, {sample("aab1"), "E\r\n"}, {sample("aab2"), "F\r\n"}},
               options)
            .ok());
    EXPECT_EQ(synced, 1);
    EXPECT_EQ(spool_->flush_ticket(), before + 1);
    // The log cannot be synced by itself: the covering flush makes it durable instead.
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    log_ok = false;
    before = spool_->flush_ticket();
    ASSERT_TRUE(out.commit({{sample("aac0"), "G\r\n"}}, options).ok());
    EXPECT_EQ(synced, 2);
    EXPECT_EQ(spool_->flush_ticket(), before + 1);
    EXPECT_TRUE(spool_->wait_flushed(before, std::chrono::milliseconds(0)));
}

TEST_F(OutgoingTest, CommitSharesAnotherStagesFlush) {
    Outgoing out(*spool_);
    // Another stage reports covering flushes every 20 ms (the spool writer under load; here
    // without the syscalls, so that only the commit's own flushes would touch the disk) until
    // the item is renamed into outgoing/: the renames are made durable by the commit's own
    // fsync of outgoing/, not by waiting for a later flush (at most share_wait, here 30 s,
    // which the test would then take).
    std::atomic<std::uint64_t> theirs{0};
    auto flush_once = [&] {
        const std::uint64_t n = spool_->begin_flush();
        ++theirs;
        spool_->end_flush(n);
    };
    flush_once();
    std::thread writer([&] {
        for (;;) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            if (std::filesystem::exists(in_outgoing("aaa0.item"))) return;
            flush_once();
        }
    });
    const auto started = std::chrono::steady_clock::now();
    ASSERT_TRUE(
        out.commit({{sample("aaa0"), "A\r\n"}}, {.share_wait = std::chrono::seconds(30)}).ok());
    const auto took = std::chrono::steady_clock::now() - started;
    writer.join();
    EXPECT_EQ(*out.bytes("aaa0", 1024), "A\r\n");
    EXPECT_EQ(spool_->flush_ticket(), theirs.load()) << "no syncfs of its own";
    EXPECT_LT(took, std::chrono::seconds(10)) << "no wait for a flush after the renames";

    // Alone (nobody flushed lately), it flushes at once.
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    const std::uint64_t before = spool_->flush_ticket();
    ASSERT_TRUE(
        out.commit({{sample("aaa1"), "B\r\n"}}, {.share_wait = std::chrono::milliseconds(50)})
            .ok());
    EXPECT_EQ(spool_->flush_ticket(), before + 1);
}

TEST_F(OutgoingTest, RemoveRecyclesTheItemFile) {
    Outgoing out(*spool_);
    ASSERT_TRUE(out.commit({{sample("aaa0"), "A\r\n"}}).ok());
    ASSERT_TRUE(out.remove(std::vector<std::string>{"aaa0"}, false).ok());
    EXPECT_TRUE(outgoing_files().empty());
    EXPECT_EQ(test::list_dir(spool_->tmp_dir()).size(), 1u) << "pooled";
    // The next item takes it, and holds exactly its own bytes.
    ASSERT_TRUE(out.commit({{sample("aaa1"), "B\r\n"}}).ok());
    EXPECT_TRUE(test::list_dir(spool_->tmp_dir()).empty());
    EXPECT_EQ(test::read_bytes(in_outgoing("aaa1.item")),
              format_outgoing(sample("aaa1")) + "\nB\r\n");
}

}  // namespace
}  // namespace referent::spool
