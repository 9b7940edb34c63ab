#include "spool/spool_writer.hpp"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <future>
#include <map>
#include <set>

#include "spool/temp_dir.hpp"

namespace referent::spool {
namespace {

using namespace std::chrono;
using test::list_dir;
using test::read_bytes;
using test::write_bytes;
using Names = std::set<std::string>;

const system_clock::time_point t0{microseconds{1795873500123456}};

// Message bytes that a text-mode or C-string path would damage: NUL, bare CR, bare LF, 0xFF.
std::string awkward_data(int n) {
    std::string data = "Subject: " + std::to_string(n) + "\r\n\r\n";
    data += std::string("nul\0 cr\r lf\n ff\xff end\r\n", 22);
    data += std::string(static_cast<std::size_t>(n % 5000), 'x');
    return data;
}

// Counts `done` calls and keeps their outcomes; wait_for(n) blocks until n have arrived.
class Outcomes {
public:
    SpoolWriter::Done done_for(const std::string& id) {
        return [this, id](util::Status st) {
            std::lock_guard lock(mutex_);
            by_id_.emplace(id, st);
            changed_.notify_all();
        };
    }
    void wait_for(std::size_t n) {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return by_id_.size() >= n; });
    }
    std::map<std::string, util::Status> all() {
        std::lock_guard lock(mutex_);
        return by_id_;
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::map<std::string, util::Status> by_id_;
};

class SpoolWriterTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto opened = Spool::open(dir_.path() / "spool", clock_, random_);
        ASSERT_TRUE(opened) << opened.error().message;
        spool_.emplace(std::move(opened).value());
    }

    Envelope envelope() {
        Envelope e;
        e.id = spool_->new_id();
        e.role = "public";
        e.protocol = "ESMTP";
        e.client_address = "192.0.2.1:52000";
        e.helo = "mx.example.org";
        e.mail_from = "jeanne.dupont@example.org";
        e.recipients = {"etat-civil@mairie-exemple.fr"};
        e.arrival = t0;
        e.body = "8BITMIME";
        return e;
    }

    // Commits one message and waits for its outcome.
    util::Status commit_one(SpoolWriter& writer, Envelope e, std::string data) {
        std::promise<util::Status> outcome;
        writer.commit(std::move(e), std::move(data),
                      [&outcome](util::Status st) { outcome.set_value(st); });
        return outcome.get_future().get();
    }

    void expect_committed(const Envelope& e, const std::string& data) {
        EXPECT_EQ(read_bytes(spool_->incoming_dir() / (e.id + ".msg")), data) << e.id;
        auto parsed = parse_envelope(read_bytes(spool_->incoming_dir() / (e.id + ".env")));
        ASSERT_TRUE(parsed) << e.id << ": " << parsed.error().message;
        EXPECT_EQ(*parsed, e);
    }

    test::TempDir dir_;
    util::ManualClock clock_{t0};
    util::SystemRandom random_;
    std::optional<Spool> spool_;
};

TEST_F(SpoolWriterTest, CommitsOneMessageWhole) {
    SpoolWriter writer(*spool_, {});
    const Envelope e = envelope();
    const std::string data = awkward_data(1);
    auto st = commit_one(writer, e, data);
    ASSERT_TRUE(st) << st.error().message;
    expect_committed(e, data);
    EXPECT_EQ(list_dir(spool_->incoming_dir()), (Names{e.id + ".env", e.id + ".msg"}));
    EXPECT_EQ(list_dir(spool_->tmp_dir()), Names{});
    const WriterStats s = writer.stats();
    EXPECT_EQ(s.messages, 1u);
    EXPECT_EQ(s.failed, 0u);
    EXPECT_EQ(s.batches, 1u);
    EXPECT_EQ(s.fsyncs, 3u) << "alone: an fsync of each file, one fsync of incoming/";
}

// Other stages wait for the writer's covering flushes (Spool::wait_flushed) instead of flushing
// themselves. A lone message's own fsyncs cover nothing of theirs: announcing them would keep
// a waiter until its share_wait ran out, since no such flush ever ends.
TEST_F(SpoolWriterTest, OnlyASyncfsBatchAnnouncesACoveringFlush) {
    {
        SpoolWriter writer(*spool_, {.fsync_each_up_to = 1});
        const std::uint64_t before = spool_->flush_ticket();
        ASSERT_TRUE(commit_one(writer, envelope(), "alone"));
        EXPECT_EQ(spool_->flush_ticket(), before) << "each file fsynced: no covering flush";
        EXPECT_FALSE(spool_->flushed_lately(std::chrono::hours(1)));
        const auto t = steady_clock::now();
        EXPECT_FALSE(spool_->wait_flushed(before, milliseconds(2000)));
        EXPECT_LT(steady_clock::now() - t, milliseconds(1000)) << "nothing to wait for";
    }
    SpoolWriter writer(*spool_, {.fsync_each_up_to = 0});
    const std::uint64_t before = spool_->flush_ticket();
    ASSERT_TRUE(commit_one(writer, envelope(), "covered"));
    EXPECT_EQ(spool_->flush_ticket(), before + 1) << "syncfs and fsync of incoming/";
    EXPECT_TRUE(spool_->wait_flushed(before, milliseconds(0))) << "and it has ended";
}

TEST_F(SpoolWriterTest, CommitsAnEmptyMessage) {
    SpoolWriter writer(*spool_, {});
    const Envelope e = envelope();
    ASSERT_TRUE(commit_one(writer, e, ""));
    expect_committed(e, "");
}

TEST_F(SpoolWriterTest, ConcurrentSessionsShareCommits) {
    constexpr int threads = 8, per_thread = 60, total = threads * per_thread;
    SpoolWriter writer(*spool_, {.fsync_each_up_to = 0});
    Outcomes outcomes;
    std::vector<std::pair<Envelope, std::string>> sent(total);
    for (int i = 0; i < total; ++i)
        sent[static_cast<std::size_t>(i)] = {envelope(), awkward_data(i)};
    std::vector<std::thread> sessions;
    for (int t = 0; t < threads; ++t) {
        sessions.emplace_back([&, t] {
            for (int i = t * per_thread; i < (t + 1) * per_thread; ++i) {
                const auto& [e, data] = sent[static_cast<std::size_t>(i)];
                writer.commit(e, data, outcomes.done_for(e.id));
            }
        });
    }
    for (auto& s : sessions) s.join();
    outcomes.wait_for(total);

    for (const auto& [id, st] : outcomes.all()) EXPECT_TRUE(st) << id << ": " << st.error().message;
    for (const auto& [e, data] : sent) expect_committed(e, data);
    EXPECT_EQ(list_dir(spool_->incoming_dir()).size(), 2u * total);
    EXPECT_EQ(list_dir(spool_->tmp_dir()), Names{});
    const WriterStats s = writer.stats();
    EXPECT_EQ(s.messages, static_cast<std::uint64_t>(total));
    EXPECT_EQ(s.failed, 0u);
    EXPECT_GE(s.batches, 1u);
    EXPECT_EQ(s.fsyncs, 2u * s.batches) << "two flushes per batch, whatever its size";
}

// The writer is held inside a `done` callback while 10 more commits queue up: when it resumes
// it takes them all at once, max_batch at a time. No timing involved.
TEST_F(SpoolWriterTest, QueuedCommitsShareBatchesOfAtMostMaxBatch) {
    SpoolWriter writer(*spool_, {.max_batch = 4, .fsync_each_up_to = 0});
    std::promise<void> entered, release;
    const Envelope first = envelope();
    writer.commit(first, "first", [&](util::Status) {
        entered.set_value();
        release.get_future().wait();
    });
    entered.get_future().wait();
    Outcomes outcomes;
    for (int i = 0; i < 10; ++i) {
        const Envelope e = envelope();
        writer.commit(e, awkward_data(i), outcomes.done_for(e.id));
    }
    release.set_value();
    outcomes.wait_for(10);
    const WriterStats s = writer.stats();
    EXPECT_EQ(s.messages, 11u);
    EXPECT_EQ(s.batches, 4u) << "1, then 4 + 4 + 2";
    EXPECT_EQ(s.fsyncs, 2u * 4);
}

TEST_F(SpoolWriterTest, StopDrainsPendingCommits) {
    Outcomes outcomes;
    std::vector<Envelope> sent;
    {
        SpoolWriter writer(*spool_, {});
        std::promise<void> entered, release;
        writer.commit(envelope(), "first", [&](util::Status) {
            entered.set_value();
            release.get_future().wait();
        });
        entered.get_future().wait();
        for (int i = 0; i < 20; ++i) {
            sent.push_back(envelope());
            writer.commit(sent.back(), awkward_data(i), outcomes.done_for(sent.back().id));
        }
        std::thread releaser([&] { release.set_value(); });
        writer.stop();  // returns only when everything queued before it is done
        releaser.join();
        EXPECT_EQ(outcomes.all().size(), 20u);
        EXPECT_EQ(writer.stats().messages, 21u);
    }
    for (int i = 0; i < 20; ++i)
        expect_committed(sent[static_cast<std::size_t>(i)], awkward_data(i));
}

TEST_F(SpoolWriterTest, CommitAfterStopFailsAtOnce) {
    SpoolWriter writer(*spool_, {});
    writer.stop();
    std::optional<util::Status> got;
    writer.commit(envelope(), "late", [&](util::Status st) { got = st; });
    ASSERT_TRUE(got.has_value()) << "called on the caller's thread";
    ASSERT_FALSE(*got);
    EXPECT_TRUE(got->error().is_temporary());
    EXPECT_EQ(got->error().message, "spool writer is stopped");
}

TEST_F(SpoolWriterTest, MissingTmpFailsTemporarilyAndLeavesNothing) {
    SpoolWriter writer(*spool_, {});
    std::filesystem::remove(spool_->tmp_dir());
    const Envelope e = envelope();
    auto st = commit_one(writer, e, "data");
    ASSERT_FALSE(st);
    EXPECT_TRUE(st.error().is_temporary());
    EXPECT_EQ(st.error().message, "open " + (spool_->tmp_dir() / (e.id + ".msg")).string() +
                                      ": No such file or directory");
    EXPECT_EQ(list_dir(spool_->incoming_dir()), Names{});
    EXPECT_EQ(writer.stats().failed, 1u);
    EXPECT_EQ(writer.stats().messages, 0u);
}

// Recycled files (Spool::create_file) go from their pool names straight into incoming/; a
// failed commit removes them as it does new files.
TEST_F(SpoolWriterTest, RecycledFilesAreRenamedOnceAndRemovedOnFailure) {
    SpoolWriter writer(*spool_, {});
    std::set<ino_t> pooled;
    for (const char* name : {"a", "b"}) {
        const auto f = spool_->tmp_dir() / name;
        write_bytes(f, std::string(5000, 'z'));
        struct stat st {};
        ASSERT_EQ(::stat(f.c_str(), &st), 0);
        pooled.insert(st.st_ino);
        ASSERT_TRUE(spool_->retire_file(f.string()));
    }
    const Envelope e = envelope();
    ASSERT_TRUE(commit_one(writer, e, "short\r\n"));
    expect_committed(e, "short\r\n");
    std::set<ino_t> used;
    for (const char* ext : {".msg", ".env"}) {
        struct stat st {};
        ASSERT_EQ(::stat((spool_->incoming_dir() / (e.id + ext)).c_str(), &st), 0);
        used.insert(st.st_ino);
    }
    EXPECT_EQ(used, pooled) << "both files came from the pool";
    EXPECT_EQ(list_dir(spool_->tmp_dir()), Names{});

    ASSERT_TRUE(spool_->remove_incoming(e.id));  // back to the pool
    ASSERT_EQ(list_dir(spool_->tmp_dir()).size(), 2u);
    std::filesystem::remove(spool_->incoming_dir());
    write_bytes(spool_->incoming_dir(), "a file where the directory was");
    EXPECT_FALSE(commit_one(writer, envelope(), "data"));
    EXPECT_EQ(list_dir(spool_->tmp_dir()), Names{}) << "the pooled files written are removed";
}

TEST_F(SpoolWriterTest, UnusableIncomingFailsTemporarilyAndLeavesNothing) {
    SpoolWriter writer(*spool_, {});
    std::filesystem::remove(spool_->incoming_dir());
    write_bytes(spool_->incoming_dir(), "a file where the directory was");
    const Envelope e = envelope();
    auto st = commit_one(writer, e, "data");
    ASSERT_FALSE(st);
    EXPECT_TRUE(st.error().is_temporary());
    EXPECT_EQ(st.error().message.rfind("rename " + spool_->tmp_dir().string(), 0), 0u)
        << st.error().message;
    EXPECT_NE(st.error().message.find("Not a directory"), std::string::npos);
    EXPECT_EQ(list_dir(spool_->tmp_dir()), Names{});
    EXPECT_TRUE(std::filesystem::is_regular_file(spool_->incoming_dir()));
    EXPECT_EQ(writer.stats().failed, 1u);
}

TEST_F(SpoolWriterTest, InvalidEnvelopeFailsPermanentlyAndWritesNothing) {
    SpoolWriter writer(*spool_, {});
    Envelope e = envelope();
    e.recipients.push_back("a@example.org\nrcpt: forged@example.org");
    auto st = commit_one(writer, e, "data");
    ASSERT_FALSE(st);
    EXPECT_FALSE(st.error().is_temporary());
    EXPECT_EQ(list_dir(spool_->tmp_dir()), Names{});
    EXPECT_EQ(list_dir(spool_->incoming_dir()), Names{});
    EXPECT_EQ(writer.stats().fsyncs, 0u);
}

// A failure is per message: the other messages of the batch still commit, and a file that is
// not ours (here a stale tmp/ file under the same id) is left alone.
TEST_F(SpoolWriterTest, OneFailureDoesNotSinkTheBatch) {
    SpoolWriter writer(*spool_, {});
    std::promise<void> entered, release;
    writer.commit(envelope(), "first", [&](util::Status) {
        entered.set_value();
        release.get_future().wait();
    });
    entered.get_future().wait();
    const Envelope bad = envelope(), good = envelope();
    write_bytes(spool_->tmp_dir() / (bad.id + ".msg"), "stale");
    Outcomes outcomes;
    writer.commit(bad, "bad", outcomes.done_for(bad.id));
    writer.commit(good, "good", outcomes.done_for(good.id));
    release.set_value();
    outcomes.wait_for(2);

    auto all = outcomes.all();
    ASSERT_FALSE(all.at(bad.id));
    EXPECT_NE(all.at(bad.id).error().message.find("File exists"), std::string::npos);
    EXPECT_TRUE(all.at(good.id));
    expect_committed(good, "good");
    EXPECT_FALSE(std::filesystem::exists(spool_->incoming_dir() / (bad.id + ".msg")));
    EXPECT_FALSE(std::filesystem::exists(spool_->incoming_dir() / (bad.id + ".env")));
    EXPECT_EQ(list_dir(spool_->tmp_dir()), Names{bad.id + ".msg"});
    EXPECT_EQ(read_bytes(spool_->tmp_dir() / (bad.id + ".msg")), "stale");
    const WriterStats s = writer.stats();
    EXPECT_EQ(s.messages, 2u);
    EXPECT_EQ(s.failed, 1u);
    EXPECT_EQ(s.batches, 2u);
}

// Run by CTest under `fiu-run -x -c "enable name=posix/io/sync/fsync"` (see CMakeLists.txt):
// proves the writer's fsyncs are plain libc calls that libfiu can fail, and that a failed fsync
// leaves nothing behind. Skipped when run without the failpoint.
TEST(SpoolWriterFault, FailedFsyncLeavesNothing) {
    if (std::getenv("REFERENT_FIU_FSYNC") == nullptr) GTEST_SKIP() << "needs fiu-run";
    test::TempDir dir;
    // Created by hand: Spool::open fsyncs the parents of directories it creates.
    for (const char* sub : {"tmp", "incoming", "corrupt", "outgoing"}) {
        std::filesystem::create_directories(dir.path() / sub);
    }
    util::ManualClock clock{t0};
    util::SequenceRandom random;
    auto spool = Spool::open(dir.path(), clock, random);
    ASSERT_TRUE(spool) << spool.error().message;
    SpoolWriter writer(*spool, {});
    Envelope e;
    e.id = spool->new_id();
    e.role = "public";
    e.protocol = "SMTP";
    e.client_address = "192.0.2.1:52000";
    e.mail_from = "a@example.org";
    e.recipients = {"b@example.org"};
    e.body = "7BIT";
    std::promise<util::Status> outcome;
    writer.commit(e, "data", [&](util::Status st) { outcome.set_value(st); });
    const auto st = outcome.get_future().get();
    ASSERT_FALSE(st);
    EXPECT_TRUE(st.error().is_temporary());
    EXPECT_EQ(st.error().message.rfind("fsync ", 0), 0u) << st.error().message;
    EXPECT_EQ(list_dir(spool->tmp_dir()), Names{});
    EXPECT_EQ(list_dir(spool->incoming_dir()), Names{});
}

}  // namespace
}  // namespace referent::spool
