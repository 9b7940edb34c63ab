// spool::MessageFile (a message written under tmp/ as it arrives) and its hand-off to the
// SpoolWriter, which syncs and renames it rather than writing the bytes again.
#include "spool/message_file.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>
#include <future>
#include <set>

#include "spool/spool_writer.hpp"
#include "spool/temp_dir.hpp"

namespace referent::spool {
namespace {

using namespace std::chrono;
using test::list_dir;
using test::read_bytes;
using test::write_bytes;
using Names = std::set<std::string>;

const system_clock::time_point t0{microseconds{1795873500123456}};
const std::string prefix = "Received: from mx.example.org by gw; Sat, 28 Nov 2026\r\n";

// Bytes a text-mode path would damage, over several appends of uneven sizes.
std::vector<std::string> chunks() {
    std::vector<std::string> out;
    for (int i = 0; i < 40; ++i)
        out.push_back(
            std::string("nul\0 cr\r lf\n ff\xff ", 18) +
            std::string(static_cast<std::size_t>(i * 997 % 7001), static_cast<char>('a' + i % 26)));
    return out;
}

std::string joined(const std::vector<std::string>& parts) {
    std::string all;
    for (const auto& p : parts) all += p;
    return all;
}

// A file size limit for the test's duration: writes past it fail with EFBIG (SIGXFSZ ignored).
class FileSizeLimit {
public:
    explicit FileSizeLimit(rlim_t octets) {
        old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
        ::getrlimit(RLIMIT_FSIZE, &old_);
        rlimit l = old_;
        l.rlim_cur = octets;
        ::setrlimit(RLIMIT_FSIZE, &l);
    }
    ~FileSizeLimit() {
        ::setrlimit(RLIMIT_FSIZE, &old_);
        std::signal(SIGXFSZ, old_handler_);
    }

private:
    rlimit old_{};
    void (*old_handler_)(int) = nullptr;
};

class MessageFileTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto opened = Spool::open(dir_.path() / "spool", clock_, random_);
        ASSERT_TRUE(opened) << opened.error().message;
        spool_.emplace(std::move(opened).value());
    }

    Envelope envelope(const std::string& id) {
        Envelope e;
        e.id = id;
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

    MessageFile filled(const std::string& id) {
        auto file = MessageFile::create(*spool_, id, prefix);
        EXPECT_TRUE(file) << file.error().message;
        for (const auto& c : chunks()) EXPECT_TRUE(file->append(c));
        return std::move(file).value();
    }

    util::Status commit(SpoolWriter& writer, Envelope e, MessageFile file) {
        std::promise<util::Status> outcome;
        writer.commit(std::move(e), std::move(file),
                      [&outcome](util::Status st) { outcome.set_value(st); });
        return outcome.get_future().get();
    }

    test::TempDir dir_;
    util::ManualClock clock_{t0};
    util::SystemRandom random_;
    std::optional<Spool> spool_;
};

TEST_F(MessageFileTest, WritesThePrefixFirstAndRemovesItselfUnlessHandedOff) {
    const std::string id = spool_->new_id();
    {
        MessageFile file = filled(id);
        EXPECT_EQ(file.size(), prefix.size() + joined(chunks()).size());
        EXPECT_EQ(list_dir(spool_->tmp_dir()), Names{id + ".msg"});
        EXPECT_EQ(read_bytes(spool_->tmp_dir() / (id + ".msg")), prefix + joined(chunks()));
        MessageFile moved = std::move(file);  // the new owner removes it, once
    }
    EXPECT_EQ(list_dir(spool_->tmp_dir()), Names{});
}

TEST_F(MessageFileTest, WriterCommitsTheFileAsWritten) {
    SpoolWriter writer(*spool_, {});
    const Envelope e = envelope(spool_->new_id());
    auto st = commit(writer, e, filled(e.id));
    ASSERT_TRUE(st) << st.error().message;
    EXPECT_EQ(read_bytes(spool_->incoming_dir() / (e.id + ".msg")), prefix + joined(chunks()));
    auto parsed = parse_envelope(read_bytes(spool_->incoming_dir() / (e.id + ".env")));
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(*parsed, e);
    EXPECT_EQ(list_dir(spool_->tmp_dir()), Names{});
    EXPECT_EQ(writer.stats().fsyncs, 3u) << "alone: an fsync of each file, one of incoming/";
}

// A file recycled from the pool still holds its older bytes: the commit cuts it to size.
TEST_F(MessageFileTest, RecycledLongerFileIsCutToWhatWasWritten) {
    const auto old = spool_->tmp_dir() / "old";
    write_bytes(old, std::string(200 << 10, 'z'));
    ASSERT_TRUE(spool_->retire_file(old.string()));
    SpoolWriter writer(*spool_, {});
    const Envelope e = envelope(spool_->new_id());
    auto file = MessageFile::create(*spool_, e.id, prefix);
    ASSERT_TRUE(file);
    ASSERT_TRUE(file->append("short\r\n"));
    ASSERT_TRUE(commit(writer, e, std::move(file).value()));
    EXPECT_EQ(read_bytes(spool_->incoming_dir() / (e.id + ".msg")), prefix + "short\r\n");
    EXPECT_EQ(list_dir(spool_->tmp_dir()), Names{});
}

TEST_F(MessageFileTest, FailedAppendFailsForGoodAndTheCommitLeavesNothing) {
    SpoolWriter writer(*spool_, {});
    const Envelope e = envelope(spool_->new_id());
    auto file = MessageFile::create(*spool_, e.id, prefix);
    ASSERT_TRUE(file);
    {
        FileSizeLimit limit(4096);
        auto st = file->append(std::string(8192, 'x'));
        ASSERT_FALSE(st);
        EXPECT_TRUE(st.error().is_temporary());
        EXPECT_NE(st.error().message.find("File too large"), std::string::npos)
            << st.error().message;
    }
    EXPECT_FALSE(file->append("more")) << "after a failure every append fails";
    auto st = commit(writer, e, std::move(file).value());
    ASSERT_FALSE(st);
    EXPECT_TRUE(st.error().is_temporary());
    EXPECT_EQ(list_dir(spool_->tmp_dir()), Names{});
    EXPECT_EQ(list_dir(spool_->incoming_dir()), Names{});
}

TEST_F(MessageFileTest, InvalidEnvelopeRemovesTheFile) {
    SpoolWriter writer(*spool_, {});
    Envelope e = envelope(spool_->new_id());
    e.recipients.push_back("a@example.org\nrcpt: forged@example.org");
    auto st = commit(writer, e, filled(e.id));
    ASSERT_FALSE(st);
    EXPECT_FALSE(st.error().is_temporary());
    EXPECT_EQ(list_dir(spool_->tmp_dir()), Names{});
    EXPECT_EQ(list_dir(spool_->incoming_dir()), Names{});
}

TEST_F(MessageFileTest, CommitAfterStopRemovesTheFile) {
    SpoolWriter writer(*spool_, {});
    writer.stop();
    const Envelope e = envelope(spool_->new_id());
    std::optional<util::Status> got;
    writer.commit(e, filled(e.id), [&](util::Status st) { got = st; });
    ASSERT_TRUE(got.has_value());
    EXPECT_FALSE(*got);
    EXPECT_EQ(list_dir(spool_->tmp_dir()), Names{});
}

// A crash leaves the file in tmp/: recovery removes it, nothing reaches incoming/.
TEST_F(MessageFileTest, RecoveryRemovesAFileLeftByACrash) {
    const std::string id = spool_->new_id();
    MessageFile file = filled(id);
    const std::filesystem::path path = file.path();
    const std::string bytes = read_bytes(path);
    std::filesystem::rename(path, dir_.path() / "kept");  // the owner will not find it
    { MessageFile gone = std::move(file); }
    std::filesystem::rename(dir_.path() / "kept", path);  // as a crash leaves it
    auto report = spool_->recover();
    ASSERT_TRUE(report) << report.error().message;
    EXPECT_EQ(report->removed_partial, 1u);
    EXPECT_EQ(report->committed, 0u);
    EXPECT_EQ(list_dir(spool_->tmp_dir()), Names{});
    EXPECT_EQ(bytes.size(), prefix.size() + joined(chunks()).size());
}

}  // namespace
}  // namespace referent::spool
