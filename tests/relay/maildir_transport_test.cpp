// tests/relay/maildir_transport_test.cpp — MaildirTransport on a temporary directory: where a
// message lands and with which bytes, the names it gets, what it refuses, and disk failures.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <regex>
#include <set>
#include <thread>

#include "relay/maildir_transport.hpp"
#include "relay/transport.hpp"
#include "spool/temp_dir.hpp"
#include "util/clock.hpp"

namespace referent::relay::test {
namespace {

using referent::test::list_dir;
using referent::test::read_bytes;
using referent::test::TempDir;
namespace fs = std::filesystem;

const std::string kLetter = "Subject: Votre demande\r\n\r\n.point\r\nBonjour Hélène — 日本語\r\n";
const util::Clock::time_point kNow{std::chrono::microseconds{1'767'225'600'123'456}};

OutboundMessage message(std::string rcpt, std::string bytes = kLetter) {
    return {"q1", "anne@staff.example.fr", std::move(rcpt), std::move(bytes)};
}

mode_t mode_of(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
}

class Maildir : public ::testing::Test {
protected:
    fs::path root() const { return tmp_.path() / "outbox"; }
    std::unique_ptr<Transport> make(const std::string& hostname = "gw.example.fr") {
        auto t = make_maildir_transport(root().string(), hostname, clock_);
        EXPECT_TRUE(t.ok()) << t.error().message;
        return t.ok() ? std::move(t).value() : nullptr;
    }
    TempDir tmp_;
    util::ManualClock clock_{kNow};
};

TEST_F(Maildir, MessageLandsInNewWithTheExactBytesBehindReturnPath) {
    auto transport = make();
    ASSERT_TRUE(transport);
    const DeliveryResult r = transport->deliver(message("Citoyen.Dupont@Example.NET"));
    EXPECT_EQ(r.outcome, Outcome::delivered) << r.reply;
    const fs::path box = root() / "citoyen.dupont@example.net";  // lower-cased
    const auto fresh = list_dir(box / "new");
    ASSERT_EQ(fresh.size(), 1u);
    EXPECT_EQ(read_bytes(box / "new" / *fresh.begin()),
              std::string("Return-Path: <anne@staff.example.fr>\r\n") + kLetter);
    EXPECT_TRUE(list_dir(box / "tmp").empty());
    EXPECT_TRUE(list_dir(box / "cur").empty());
    EXPECT_EQ(mode_of(root()), 0700u);
    for (const char* sub : {"", "tmp", "new", "cur"}) EXPECT_EQ(mode_of(box / sub), 0700u) << sub;
    EXPECT_EQ(mode_of(box / "new" / *fresh.begin()), 0600u);
}

TEST_F(Maildir, NamesFollowTheMaildirConvention) {
    auto transport = make("gw/odd:name");
    ASSERT_TRUE(transport);
    ASSERT_EQ(transport->deliver(message("a@example.net")).outcome, Outcome::delivered);
    const auto fresh = list_dir(root() / "a@example.net" / "new");
    ASSERT_EQ(fresh.size(), 1u);
    const std::regex want("1767225600\\.M123456P" + std::to_string(::getpid()) +
                          "Q[0-9]+\\.gw\\\\057odd\\\\072name");
    EXPECT_TRUE(std::regex_match(*fresh.begin(), want)) << *fresh.begin();
}

TEST_F(Maildir, ManyMessagesInTheSameMicrosecondGetUniqueNames) {
    // The clock stands still: only the counter tells them apart, across threads too.
    constexpr int kThreads = 4;
    constexpr int kEach = 50;
    std::vector<std::thread> threads;
    std::atomic<int> delivered{0};
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&] {
            auto transport = make_maildir_transport(root().string(), "gw.example.fr", clock_);
            if (!transport.ok()) return;
            for (int i = 0; i < kEach; ++i)
                if ((*transport)->deliver(message("a@example.net")).outcome == Outcome::delivered)
                    ++delivered;
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(delivered.load(), kThreads * kEach);
    EXPECT_EQ(list_dir(root() / "a@example.net" / "new").size(),
              static_cast<std::size_t>(kThreads * kEach));
    EXPECT_TRUE(list_dir(root() / "a@example.net" / "tmp").empty());
}

TEST_F(Maildir, RecipientsThatCannotNameADirectoryArePermanent) {
    auto transport = make();
    ASSERT_TRUE(transport);
    const std::vector<std::pair<std::string, std::string>> rows{
        {"a/b@example.net", "contains '/'"},
        {"../../etc@example.net", "contains '/'"},
        {".hidden@example.net", "starts with '.'"},
        {"..", "starts with '.'"},
        {std::string(244, 'x') + "@example.net", "longer than 255 octets"},
        {std::string("a\0b@example.net", 15), "octet 1 of the recipient address"},
        {"a\r\n@example.net", "octet 1 of the recipient address"},
        {"", "no recipient"},
    };
    for (const auto& [rcpt, why] : rows) {
        const DeliveryResult r = transport->deliver(message(rcpt));
        EXPECT_EQ(r.outcome, Outcome::permanent) << rcpt;
        EXPECT_NE(r.reply.find(why), std::string::npos) << r.reply;
    }
    EXPECT_TRUE(list_dir(root()).empty());
    // 255 octets is still a name.
    const std::string longest = std::string(243, 'x') + "@example.net";
    ASSERT_EQ(longest.size(), 255u);
    EXPECT_EQ(transport->deliver(message(longest)).outcome, Outcome::delivered);
}

TEST_F(Maildir, BareLineEndsArePermanentAndWriteNothing) {
    auto transport = make();
    ASSERT_TRUE(transport);
    const DeliveryResult r = transport->deliver(message("a@example.net", "Subject: x\n\nbody\n"));
    EXPECT_EQ(r.outcome, Outcome::permanent);
    EXPECT_NE(r.reply.find("bare LF at octet 10"), std::string::npos) << r.reply;
    EXPECT_TRUE(list_dir(root()).empty());
}

TEST_F(Maildir, RootThatIsNoLongerADirectoryIsTemporary) {
    auto transport = make();
    ASSERT_TRUE(transport);
    fs::remove(root());
    referent::test::write_bytes(root(), "not a directory");
    const DeliveryResult r = transport->deliver(message("a@example.net"));
    EXPECT_EQ(r.outcome, Outcome::temporary);
    EXPECT_NE(r.reply.find("/<recipient>: Not a directory"), std::string::npos) << r.reply;
    EXPECT_EQ(r.reply.find("a@example.net"), std::string::npos) << "no address in the reply";
}

TEST_F(Maildir, UnwritableMaildirIsTemporary) {
    if (::geteuid() == 0) GTEST_SKIP() << "root writes through any mode";
    auto transport = make();
    ASSERT_TRUE(transport);
    ::chmod(root().c_str(), 0500);
    const DeliveryResult r = transport->deliver(message("a@example.net"));
    ::chmod(root().c_str(), 0700);
    EXPECT_EQ(r.outcome, Outcome::temporary);
    EXPECT_NE(r.reply.find("Permission denied"), std::string::npos) << r.reply;
}

// A write that fails half way (here the file size limit, EFBIG, standing in for a full disk)
// is temporary and leaves nothing in tmp/ or new/.
TEST_F(Maildir, FailedWriteIsTemporaryAndLeavesNothing) {
    auto transport = make();
    ASSERT_TRUE(transport);
    ASSERT_EQ(transport->deliver(message("a@example.net")).outcome, Outcome::delivered);
    const auto before = list_dir(root() / "a@example.net" / "new");
    rlimit old{};
    ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
    const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit small = old;
    small.rlim_cur = 4096;
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
    const DeliveryResult r = transport->deliver(message("a@example.net", std::string(8192, 'x')));
    ::setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, old_handler);
    EXPECT_EQ(r.outcome, Outcome::temporary);
    EXPECT_NE(r.reply.find("maildir: write "), std::string::npos) << r.reply;
    EXPECT_TRUE(list_dir(root() / "a@example.net" / "tmp").empty());
    EXPECT_EQ(list_dir(root() / "a@example.net" / "new"), before);
}

TEST_F(Maildir, MakeTransportCreatesTheRootOrSaysWhyNot) {
    const fs::path deep = tmp_.path() / "a" / "b" / "outbox";
    auto made = make_maildir_transport(deep.string(), "gw.example.fr", clock_);
    ASSERT_TRUE(made.ok()) << made.error().message;
    EXPECT_TRUE(fs::is_directory(deep));
    EXPECT_EQ(mode_of(deep), 0700u);

    referent::test::write_bytes(tmp_.path() / "file", "x");
    auto blocked =
        make_maildir_transport((tmp_.path() / "file" / "outbox").string(), "gw.example.fr", clock_);
    ASSERT_FALSE(blocked.ok());
    EXPECT_FALSE(blocked.error().is_temporary());
    EXPECT_NE(blocked.error().message.find("Not a directory"), std::string::npos)
        << blocked.error().message;
}

TEST(MaildirConfig, MakeTransportPicksTheMaildir) {
    TempDir tmp;
    config::Relay relay;
    relay.maildir = (tmp.path() / "outbox").string();
    auto made = make_transport(relay, "gw.example.fr");
    ASSERT_TRUE(made.ok()) << made.error().message;
    EXPECT_EQ((*made)->deliver(message("a@example.net")).outcome, Outcome::delivered);
    EXPECT_EQ(list_dir(tmp.path() / "outbox" / "a@example.net" / "new").size(), 1u);
}

}  // namespace
}  // namespace referent::relay::test
