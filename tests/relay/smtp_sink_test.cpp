// tests/relay/smtp_sink_test.cpp — CurlTransport against a real MTA's server side: Postfix's
// smtp-sink, dumping each message to a file (skipped, saying why, when it is not installed).
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "relay/transport.hpp"
#include "smtp_server.hpp"
#include "spool/temp_dir.hpp"

extern char** environ;

namespace referent::relay::test {
namespace {

using namespace std::chrono_literals;
using referent::test::TempDir;

const char* const kSmtpSink = "/usr/sbin/smtp-sink";

bool accepts_connections(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

// smtp-sink on a free port of 127.0.0.1, dumping each message into `dump_dir` (if not empty).
class SmtpSink {
public:
    explicit SmtpSink(const std::filesystem::path& dump_dir = {}) {
        for (int attempt = 0; attempt < 5 && pid_ <= 0; ++attempt) {
            port_ = closed_port();
            std::vector<std::string> args{kSmtpSink};
            if (::geteuid() == 0) args.insert(args.end(), {"-u", "postfix"});  // it insists
            if (!dump_dir.empty()) args.insert(args.end(), {"-d", (dump_dir / "%M.").string()});
            args.insert(args.end(), {"127.0.0.1:" + std::to_string(port_), "10"});
            std::vector<char*> argv;
            for (std::string& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            pid_t pid = 0;
            if (::posix_spawn(&pid, kSmtpSink, nullptr, nullptr, argv.data(), environ) != 0)
                continue;
            for (int i = 0; i < 100 && !accepts_connections(port_); ++i)
                std::this_thread::sleep_for(20ms);  // a child process starting: nothing to inject
            if (accepts_connections(port_)) {
                pid_ = pid;
            } else {
                ::kill(pid, SIGTERM);
                ::waitpid(pid, nullptr, 0);
            }
        }
    }
    ~SmtpSink() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        ::waitpid(pid_, nullptr, 0);
    }
    SmtpSink(const SmtpSink&) = delete;
    SmtpSink& operator=(const SmtpSink&) = delete;

    bool running() const { return pid_ > 0; }
    std::uint16_t port() const { return port_; }

private:
    pid_t pid_ = 0;
    std::uint16_t port_ = 0;
};

std::string to_lf(std::string s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i)
        if (!(s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n')) out += s[i];
    return out;
}

struct Dump {
    std::string mail_args, rcpt_args, message;
};

// The dump format of smtp-sink(1): X- records, a three-line Received: header, the message
// with LF line ends, an empty line.
Dump parse_dump(const std::string& text) {
    Dump d;
    std::size_t at = 0;
    bool in_received = false;
    while (at < text.size()) {
        const std::size_t end = text.find('\n', at);
        const std::string line = text.substr(at, end - at);
        if (in_received && !line.starts_with('\t')) break;
        if (line.starts_with("X-Mail-Args: ")) d.mail_args = line.substr(13);
        if (line.starts_with("X-Rcpt-Args: ")) d.rcpt_args = line.substr(13);
        if (line.starts_with("Received: ")) in_received = true;
        at = end + 1;
    }
    d.message = text.substr(at);
    return d;
}

std::vector<Dump> wait_for_dumps(const std::filesystem::path& dir, std::size_t count) {
    for (int i = 0; i < 250; ++i) {  // smtp-sink writes on its own schedule: up to 5 s
        std::vector<Dump> dumps;
        for (const auto& entry : std::filesystem::directory_iterator(dir))
            dumps.push_back(parse_dump(referent::test::read_bytes(entry.path())));
        std::size_t complete = 0;
        for (const Dump& d : dumps)
            if (d.message.ends_with("\n\n")) ++complete;
        if (dumps.size() >= count && complete == dumps.size()) return dumps;
        std::this_thread::sleep_for(20ms);
    }
    return {};
}

TEST(SmtpSink, RealMtaReceivesEveryMessage) {
    if (::access(kSmtpSink, X_OK) != 0)
        GTEST_SKIP() << kSmtpSink << " not found: install postfix (script/bootstrap does)";
    TempDir tmp;
    const std::filesystem::path dump_dir = tmp.path() / "dump";
    std::filesystem::create_directory(dump_dir);
    // smtp-sink drops to the postfix user: it must reach and write the dump directory.
    ::chmod(tmp.path().c_str(), 0711);
    ::chmod(dump_dir.c_str(), 0777);
    SmtpSink sink(dump_dir);
    ASSERT_TRUE(sink.running()) << "smtp-sink did not start";

    config::Relay relay;
    relay.url = "smtp://127.0.0.1:" + std::to_string(sink.port());
    relay.timeout = std::chrono::seconds{10};
    auto made = make_transport(relay, "gw.example.fr");
    ASSERT_TRUE(made.ok()) << made.error().message;
    auto transport = std::move(made).value();

    std::string big = "Subject: long\r\n\r\n";
    while (big.size() < 200'000) big += ".a dotted line of some length, again and again\r\n";
    const std::vector<OutboundMessage> sent{
        {"q1", "anne@staff.example.fr", "citoyen@example.net",
         "Subject: one\r\n\r\nBonjour Hélène — ça va ?\r\n"},
        {"q2", "", "citoyen@example.net", "Subject: null sender\r\n\r\n.\r\n..\r\n.x\r\n"},
        {"q3", "paul@staff.example.fr", "autre@example.org", big},
    };
    for (const OutboundMessage& m : sent) {
        const DeliveryResult r = transport->deliver(m);
        EXPECT_EQ(r.outcome, Outcome::delivered) << m.id << ": " << r.reply;
        EXPECT_TRUE(r.reply.starts_with("250 2.0.0 Ok")) << r.reply;
    }
    const std::vector<Dump> dumps = wait_for_dumps(dump_dir, sent.size());
    ASSERT_EQ(dumps.size(), sent.size());
    for (const OutboundMessage& m : sent) {
        bool found = false;
        for (const Dump& d : dumps)
            if (d.message == to_lf(m.bytes) + "\n") {
                found = true;
                EXPECT_TRUE(d.mail_args.starts_with("<" + m.mail_from + ">")) << d.mail_args;
                EXPECT_EQ(d.rcpt_args, "<" + m.rcpt + ">");
            }
        EXPECT_TRUE(found) << m.id << " not among the dumps";
    }
}

// Each relay worker owns a transport; they are made and used on several threads at once.
TEST(SmtpSink, WorkersDeliverConcurrentlyEachOnItsOwnConnection) {
    if (::access(kSmtpSink, X_OK) != 0)
        GTEST_SKIP() << kSmtpSink << " not found: install postfix (script/bootstrap does)";
    SmtpSink sink;
    ASSERT_TRUE(sink.running()) << "smtp-sink did not start";
    config::Relay relay;
    relay.url = "smtp://127.0.0.1:" + std::to_string(sink.port());
    relay.timeout = std::chrono::seconds{10};
    constexpr int kWorkers = 4;
    constexpr int kEach = 25;
    std::atomic<int> delivered{0};
    std::vector<std::thread> workers;
    for (int w = 0; w < kWorkers; ++w)
        workers.emplace_back([&relay, &delivered, w] {
            auto made = make_transport(relay, "gw.example.fr");
            if (!made.ok()) return;
            for (int i = 0; i < kEach; ++i) {
                const OutboundMessage m{"q" + std::to_string(w) + "-" + std::to_string(i),
                                        "anne@staff.example.fr", "citoyen@example.net",
                                        "Subject: worker " + std::to_string(w) + "\r\n\r\nx\r\n"};
                if ((*made)->deliver(m).outcome == Outcome::delivered) ++delivered;
            }
        });
    for (auto& t : workers) t.join();
    EXPECT_EQ(delivered.load(), kWorkers * kEach);
}

}  // namespace
}  // namespace referent::relay::test
