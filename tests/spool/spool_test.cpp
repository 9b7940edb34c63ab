#include "spool/spool.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <string>
#include <thread>

#include "spool/posix_io.hpp"
#include "spool/temp_dir.hpp"

namespace referent::spool {
namespace {

using namespace std::chrono;
using test::list_dir;
using test::read_bytes;
using test::write_bytes;
using Names = std::set<std::string>;

// 2026-11-28T13:45:00.123456Z
const system_clock::time_point t0{microseconds{1795873500123456}};

// Always the same bytes: stands for another process's entropy.
class FixedRandom final : public util::Random {
public:
    explicit FixedRandom(std::uint8_t b) : b_(b) {}
    void bytes(std::span<std::uint8_t> out) override { std::fill(out.begin(), out.end(), b_); }

private:
    std::uint8_t b_;
};

class SpoolTest : public ::testing::Test {
protected:
    Spool open_spool() {
        auto spool = Spool::open(root(), clock_, random_);
        if (!spool) ADD_FAILURE() << spool.error().message;
        return std::move(spool).value();
    }
    std::filesystem::path root() const { return dir_.path() / "spool"; }

    test::TempDir dir_;
    util::ManualClock clock_{t0};
    util::SequenceRandom random_;
};

unsigned mode_of(const std::filesystem::path& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
}

TEST_F(SpoolTest, OpenCreatesTheLayout) {
    Spool spool = open_spool();
    EXPECT_EQ(list_dir(root()), (Names{"corrupt", "incoming", "outgoing", "tmp"}));
    for (const auto& d : {root(), spool.tmp_dir(), spool.incoming_dir(), spool.corrupt_dir()}) {
        EXPECT_EQ(mode_of(d), 0750u) << d;
    }
    EXPECT_EQ(list_dir(spool.tmp_dir()), Names{}) << "the writability probe is removed";
}

TEST_F(SpoolTest, OpenCreatesMissingParents) {
    auto spool = Spool::open(dir_.path() / "var" / "lib" / "spool", clock_, random_);
    ASSERT_TRUE(spool) << spool.error().message;
    EXPECT_TRUE(std::filesystem::is_directory(dir_.path() / "var/lib/spool/incoming"));
}

TEST_F(SpoolTest, OpenKeepsWhatIsThere) {
    { Spool first = open_spool(); }
    write_bytes(root() / "incoming" / "keep.msg", "x");
    Spool again = open_spool();
    EXPECT_EQ(list_dir(again.incoming_dir()), Names{"keep.msg"});
}

// Tests run as root, so permissions cannot make a directory unwritable: a file in the way can.
TEST_F(SpoolTest, OpenFailsWhenTheRootCannotBeCreated) {
    write_bytes(dir_.path() / "afile", "not a directory");
    auto spool = Spool::open(dir_.path() / "afile" / "spool", clock_, random_);
    ASSERT_FALSE(spool);
    EXPECT_TRUE(spool.error().is_temporary());
    EXPECT_EQ(spool.error().message, "spool " + (dir_.path() / "afile/spool").string() +
                                         " is not writable: mkdir " +
                                         (dir_.path() / "afile").string() + ": Not a directory");
}

TEST_F(SpoolTest, OpenFailsWhenTmpIsAFile) {
    std::filesystem::create_directories(root());
    write_bytes(root() / "tmp", "");
    auto spool = Spool::open(root(), clock_, random_);
    ASSERT_FALSE(spool);
    EXPECT_NE(spool.error().message.find("is not writable: "), std::string::npos);
}

TEST_F(SpoolTest, OpenFailsOnAReadOnlyFileSystem) {
    auto spool = Spool::open("/proc/self/referent-spool", clock_, random_);
    ASSERT_FALSE(spool);
    EXPECT_TRUE(spool.error().is_temporary());
    EXPECT_EQ(spool.error().message.rfind("spool /proc/self/referent-spool is not writable: ", 0),
              0u)
        << spool.error().message;
}

TEST_F(SpoolTest, IdIsTimeThenRandom) {
    Spool spool = open_spool();
    EXPECT_EQ(spool.new_id(), "06615662095140000102");  // micros 1795873500123456, bytes 0 1 2
    EXPECT_EQ(spool.new_id(), "06615662095141030405") << "a stalled clock is bumped by 1 µs";
}

TEST_F(SpoolTest, IdsAreUniqueAndIncreasingOverAHundredThousandCalls) {
    Spool spool = open_spool();
    std::vector<std::string> ids;
    for (int i = 0; i < 100'000; ++i) {
        if (i % 7 == 0) clock_.advance(microseconds{3});  // sometimes moves, mostly stalls
        ids.push_back(spool.new_id());
    }
    for (const auto& id : ids) ASSERT_TRUE(is_valid_id(id)) << id;
    for (std::size_t i = 1; i < ids.size(); ++i) ASSERT_LT(ids[i - 1], ids[i]) << i;
}

TEST_F(SpoolTest, IdsSortByClock) {
    Spool spool = open_spool();
    const std::string a = spool.new_id();
    clock_.advance(milliseconds{1});
    const std::string b = spool.new_id();
    clock_.advance(hours{24 * 365});
    const std::string c = spool.new_id();
    EXPECT_LT(a, b);
    EXPECT_LT(b, c);
    EXPECT_EQ(a.size(), c.size()) << "fixed width";
}

TEST_F(SpoolTest, IdsKeepIncreasingWhenTheClockStepsBack) {
    Spool spool = open_spool();
    const std::string a = spool.new_id();
    clock_.advance(-seconds{10});
    EXPECT_LT(a, spool.new_id());
}

TEST_F(SpoolTest, TwoProcessesAtTheSameMicrosecondDiffer) {
    FixedRandom r1(0x11), r2(0x22);
    auto s1 = Spool::open(root(), clock_, r1);
    auto s2 = Spool::open(root(), clock_, r2);
    ASSERT_TRUE(s1 && s2);
    EXPECT_EQ(s1->new_id(), "06615662095140111111");
    EXPECT_EQ(s2->new_id(), "06615662095140222222");
}

TEST_F(SpoolTest, FreeSpaceIsReported) {
    Spool spool = open_spool();
    auto space = spool.free_space();
    ASSERT_TRUE(space) << space.error().message;
    EXPECT_GT(*space, 0u);
}

Envelope envelope_for(const std::string& id) {
    Envelope e;
    e.id = id;
    e.role = "public";
    e.protocol = "ESMTP";
    e.client_address = "192.0.2.1:52000";
    e.helo = "mx.example.org";
    e.recipients = {"etat-civil@mairie-exemple.fr"};
    e.arrival = t0;
    e.body = "7BIT";
    return e;
}

// One committed pair, as the writer leaves it.
void put_committed(const Spool& spool, const std::string& id) {
    write_bytes(spool.incoming_dir() / (id + ".msg"), "Subject: hi\r\n\r\nbody\r\n");
    write_bytes(spool.incoming_dir() / (id + ".env"), format_envelope(envelope_for(id)));
}

TEST_F(SpoolTest, RecoverOnAnEmptySpool) {
    Spool spool = open_spool();
    auto report = spool.recover();
    ASSERT_TRUE(report) << report.error().message;
    EXPECT_EQ(report->committed, 0u);
    EXPECT_EQ(report->removed_partial, 0u);
    EXPECT_EQ(report->moved_corrupt, 0u);
}

TEST_F(SpoolTest, RecoverSortsEveryCase) {
    Spool spool = open_spool();
    const auto in = spool.incoming_dir();
    write_bytes(spool.tmp_dir() / "a1.msg", "half");              // crash while writing
    write_bytes(spool.tmp_dir() / "a1.env", "referent-env");      // crash while writing
    std::filesystem::create_directory(spool.tmp_dir() / "junk");  // anything at all
    put_committed(spool, "b2");                                   // good
    put_committed(spool, "b1");                                   // good
    write_bytes(in / "c1.msg", "renamed, crash before .env");     // never acknowledged
    write_bytes(in / "d1.msg", "m");                              // unreadable envelope
    write_bytes(in / "d1.env", "garbage\n");
    write_bytes(in / "e1.msg", "m");  // envelope of someone else
    write_bytes(in / "e1.env", format_envelope(envelope_for("zz9")));
    write_bytes(in / "f1.env", format_envelope(envelope_for("f1")));  // envelope alone
    write_bytes(in / "README.txt", "an operator's note");             // not ours

    auto report = spool.recover();
    ASSERT_TRUE(report) << report.error().message;
    EXPECT_EQ(report->committed, 2u);
    EXPECT_EQ(report->removed_partial, 4u);  // 3 in tmp/, c1.msg
    EXPECT_EQ(report->moved_corrupt, 3u);    // d1, e1, f1

    EXPECT_EQ(list_dir(spool.tmp_dir()), Names{});
    EXPECT_EQ(list_dir(in), (Names{"README.txt", "b1.env", "b1.msg", "b2.env", "b2.msg"}));
    EXPECT_EQ(list_dir(spool.corrupt_dir()), (Names{"d1.env", "d1.msg", "d1.reason", "e1.env",
                                                    "e1.msg", "e1.reason", "f1.env", "f1.reason"}));
    EXPECT_EQ(read_bytes(spool.corrupt_dir() / "d1.reason"), "envelope: not a referent envelope\n");
    EXPECT_EQ(read_bytes(spool.corrupt_dir() / "e1.reason"),
              "envelope id zz9 does not match file name\n");
    EXPECT_EQ(read_bytes(spool.corrupt_dir() / "f1.reason"), "envelope without message\n");
    EXPECT_EQ(read_bytes(spool.corrupt_dir() / "d1.env"), "garbage\n") << "moved, not rewritten";
    EXPECT_EQ(spool.incoming_ids(), (std::vector<std::string>{"b1", "b2"}));
}

TEST_F(SpoolTest, RecoverIsIdempotent) {
    Spool spool = open_spool();
    put_committed(spool, "b1");
    write_bytes(spool.incoming_dir() / "d1.msg", "m");
    write_bytes(spool.incoming_dir() / "d1.env", "garbage\n");
    ASSERT_TRUE(spool.recover());
    auto again = spool.recover();
    ASSERT_TRUE(again);
    EXPECT_EQ(again->committed, 1u);
    EXPECT_EQ(again->removed_partial, 0u);
    EXPECT_EQ(again->moved_corrupt, 0u);
}

TEST_F(SpoolTest, RecoverRefusesAnOversizedEnvelope) {
    Spool spool = open_spool();
    write_bytes(spool.incoming_dir() / "g1.msg", "m");
    write_bytes(spool.incoming_dir() / "g1.env", std::string((1 << 20) + 1, 'x'));
    auto report = spool.recover();
    ASSERT_TRUE(report) << report.error().message;
    EXPECT_EQ(report->moved_corrupt, 1u);
    EXPECT_NE(read_bytes(spool.corrupt_dir() / "g1.reason").find("File too large"),
              std::string::npos);
}

TEST_F(SpoolTest, IncomingIdsListsOnlyCommittedMessages) {
    Spool spool = open_spool();
    put_committed(spool, "0003");
    put_committed(spool, "0001");
    write_bytes(spool.incoming_dir() / "0002.msg", "no envelope yet");
    write_bytes(spool.incoming_dir() / "bad-name.env", "");
    EXPECT_EQ(spool.incoming_ids(), (std::vector<std::string>{"0001", "0003"}));
}

ino_t inode_of(const std::filesystem::path& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_ino;
}

TEST_F(SpoolTest, RetiredFilesAreRecycledForNewOnes) {
    Spool spool = open_spool();
    const auto old_msg = spool.incoming_dir() / "0001.msg";
    write_bytes(old_msg, std::string(4000, 'o'));
    const ino_t inode = inode_of(old_msg);
    ASSERT_TRUE(spool.retire_file(old_msg.string()).ok());
    EXPECT_FALSE(std::filesystem::exists(old_msg));
    EXPECT_TRUE(spool.retire_file(old_msg.string()).ok()) << "already gone is fine";

    // The next new file is the retired one, under its pool name (the caller renames it to its
    // final name later): no new inode, no rename, and the caller truncates the rest.
    const std::string wanted = (spool.tmp_dir() / "0002.msg").string();
    std::string fresh = wanted;
    bool recycled = false;
    auto fd = spool.create_file(fresh, 0640, recycled);
    ASSERT_TRUE(fd.ok()) << fd.error().message;
    EXPECT_TRUE(recycled);
    EXPECT_NE(fresh, wanted);
    EXPECT_EQ(std::filesystem::path(fresh).parent_path(), spool.tmp_dir());
    EXPECT_EQ(std::filesystem::path(fresh).filename().string().rfind("pool-", 0), 0u) << fresh;
    EXPECT_FALSE(std::filesystem::exists(wanted));
    EXPECT_EQ(inode_of(fresh), inode);
    EXPECT_EQ(mode_of(fresh), 0640u);
    ASSERT_TRUE(posix::write_all(fd->get(), "new", fresh).ok());
    ASSERT_TRUE(posix::truncate_fd(fd->get(), 3, fresh).ok());
    ASSERT_TRUE(fd->close(fresh).ok());
    EXPECT_EQ(read_bytes(fresh), "new");

    // The pool is empty again: a new file at the name asked for, exclusive by default.
    std::string named = wanted;
    auto first = spool.create_file(named, 0600, recycled);
    ASSERT_TRUE(first.ok()) << first.error().message;
    EXPECT_FALSE(recycled);
    EXPECT_EQ(named, wanted);
    EXPECT_EQ(mode_of(wanted), 0600u);
    ASSERT_TRUE(posix::write_all(first->get(), "old", wanted).ok());
    auto other = spool.create_file(named, 0600, recycled);
    EXPECT_FALSE(other.ok()) << "O_EXCL: the name exists";
    // Without `exclusive` an existing name is written over.
    auto over = spool.create_file(named, 0600, recycled, false);
    ASSERT_TRUE(over.ok());
    EXPECT_EQ(named, wanted);
    EXPECT_EQ(read_bytes(wanted), "");
}

TEST_F(SpoolTest, LargeFilesAreNotPooledAndRecoverClearsThePool) {
    Spool spool = open_spool();
    const auto big = spool.incoming_dir() / "0001.msg";
    write_bytes(big, std::string(Spool::max_pooled_size + 1, 'b'));
    ASSERT_TRUE(spool.retire_file(big.string()).ok());
    EXPECT_FALSE(std::filesystem::exists(big));
    EXPECT_EQ(list_dir(spool.tmp_dir()), Names{}) << "unlinked, not kept";

    for (int i = 0; i < 3; ++i) {
        const auto small = spool.incoming_dir() / ("000" + std::to_string(i) + ".env");
        write_bytes(small, "x");
        ASSERT_TRUE(spool.retire_file(small.string()).ok());
    }
    EXPECT_EQ(list_dir(spool.tmp_dir()).size(), 3u);
    EXPECT_TRUE(spool.incoming_ids().empty());
    write_bytes(spool.tmp_dir() / "0009.msg", "a half-written message");
    auto report = spool.recover();
    ASSERT_TRUE(report.ok());
    EXPECT_EQ(report->removed_partial, 1u) << "pooled files are not partial messages";
    EXPECT_EQ(list_dir(spool.tmp_dir()), Names{});
}

TEST_F(SpoolTest, ThePoolIsBounded) {
    Spool spool = open_spool();
    for (std::size_t i = 0; i < Spool::max_pooled + 5; ++i) {
        const auto f = spool.incoming_dir() / "0001.env";
        write_bytes(f, "x");
        ASSERT_TRUE(spool.retire_file(f.string()).ok());
    }
    EXPECT_EQ(list_dir(spool.tmp_dir()).size(), Spool::max_pooled);
}

TEST_F(SpoolTest, RemoveIncomingRecyclesTheFiles) {
    Spool spool = open_spool();
    put_committed(spool, "0001");
    const ino_t msg = inode_of(spool.incoming_dir() / "0001.msg");
    ASSERT_TRUE(spool.remove_incoming(std::vector<std::string>{"0001"}, false).ok());
    EXPECT_EQ(list_dir(spool.incoming_dir()), Names{});
    std::set<ino_t> pooled;
    for (const auto& name : list_dir(spool.tmp_dir()))
        pooled.insert(inode_of(spool.tmp_dir() / name));
    EXPECT_EQ(pooled.size(), 2u);
    EXPECT_TRUE(pooled.count(msg));
}

TEST_F(SpoolTest, WaitFlushedNeedsAFlushBegunAfterTheTicket) {
    Spool spool = open_spool();
    // Idle: nobody flushed lately, so no waiting at all.
    const auto started = steady_clock::now();
    EXPECT_FALSE(spool.wait_flushed(spool.flush_ticket(), seconds(30)));
    EXPECT_LT(steady_clock::now() - started, seconds(5));

    // A flush begun before the ticket does not cover what was written after it was taken.
    const std::uint64_t early = spool.begin_flush();
    const std::uint64_t ticket = spool.flush_ticket();
    spool.end_flush(early);
    EXPECT_FALSE(spool.wait_flushed(ticket, milliseconds(50)));

    // One begun after it does, whoever makes it.
    std::thread other([&spool] {
        std::this_thread::sleep_for(milliseconds(20));
        ASSERT_TRUE(spool.flush().ok());
    });
    EXPECT_TRUE(spool.wait_flushed(ticket, seconds(60)));
    other.join();
    EXPECT_TRUE(spool.wait_flushed(ticket, milliseconds(0))) << "ended already: no wait";
}

}  // namespace
}  // namespace referent::spool

namespace referent::spool {
namespace {

// read_file: sized from fstat and read in place; bounded at `limit` octets exactly.
TEST(ReadFile, ReadsWholeFilesUpToTheLimitAndRefusesPastIt) {
    test::TempDir dir;
    const std::string path = (dir.path() / "f").string();
    const std::string big(3 * 100000 + 7, 'x');
    for (const std::string& content : {std::string(), std::string("a"), big}) {
        test::write_bytes(path, content);
        auto got = posix::read_file(path, content.size());  // at the bound
        ASSERT_TRUE(got.ok()) << content.size();
        EXPECT_EQ(*got, content);
        if (content.empty()) continue;
        auto past = posix::read_file(path, content.size() - 1);  // one octet past it
        ASSERT_FALSE(past.ok());
        EXPECT_NE(past.error().message.find("File too large"), std::string::npos)
            << past.error().message;
    }
    EXPECT_FALSE(posix::read_file((dir.path() / "missing").string(), 10).ok());
}

// A file that grows after it was opened (fstat saw less) is read on, within the limit.
TEST(ReadFile, AFifoOfUnknownSizeIsReadToItsEnd) {
    test::TempDir dir;
    const std::string path = (dir.path() / "fifo").string();
    ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
    const std::string content(50000, 'y');
    std::thread writer([&] {
        std::ofstream(path, std::ios::binary) << content;  // fstat of a FIFO says 0
    });
    auto got = posix::read_file(path, content.size());
    writer.join();
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, content);
}

}  // namespace
}  // namespace referent::spool
