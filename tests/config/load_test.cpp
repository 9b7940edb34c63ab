// tests/config/load_test.cpp — whole files: the shipped example, the minimal file and its
// defaults, several errors in one run, and unreadable files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/load.hpp"
#include "config_fixture.hpp"

namespace referent::config::test {
namespace {

using Lines = std::vector<std::string>;

const std::string kExample = REFERENT_SOURCE_DIR "/config/referent.yaml";

// A fresh directory under the test temporary directory, removed at the end of the test.
class TempDir {
public:
    TempDir() {
        std::string tmpl = ::testing::TempDir() + "config_test.XXXXXX";
        path_ = ::mkdtemp(tmpl.data()) ? tmpl : std::string();
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    std::string write(const std::string& name, const std::string& text) const {
        const std::string file = path_ + "/" + name;
        std::ofstream(file, std::ios::binary) << text;
        return file;
    }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

TEST(ConfigExample, LoadsWithoutDiagnostics) {
    const LoadResult result = load_file(kExample);
    ASSERT_EQ(lines(result), (Lines{"ok"}));
    const Config& c = result.config();
    EXPECT_EQ(c.source_file, kExample);
    EXPECT_EQ(c.gateway.hostname, "referent.mairie-exemple.fr");
    ASSERT_EQ(c.gateway.listen.size(), 2u);
    EXPECT_EQ(c.gateway.listen[0].address, "127.0.0.1");
    EXPECT_EQ(c.gateway.listen[0].port, 2525);
    EXPECT_EQ(c.gateway.listen[0].role, Role::public_);
    EXPECT_EQ(c.gateway.listen[1].port, 2526);
    EXPECT_EQ(c.gateway.listen[1].protocol, Protocol::lmtp);
    EXPECT_EQ(c.gateway.listen[1].role, Role::internal);
    EXPECT_FALSE(c.gateway.tls.has_value());
    EXPECT_EQ(c.store.sqlite, "var/referent.db");
    EXPECT_EQ(c.relay.maildir, "var/outbox");
    EXPECT_FALSE(c.relay.url.has_value());
    EXPECT_EQ(c.organisation.postal_address, "1 place de la République, 99000 Villeneuve-Exemple");
    ASSERT_EQ(c.services.size(), 1u);
    EXPECT_EQ(c.services[0].agents, (std::vector<std::string>{"helene.lefevre", "paul.martin"}));
    const Agent* helene = c.find_agent("helene.lefevre");
    ASSERT_NE(helene, nullptr);
    EXPECT_EQ(helene->name, "Hélène Lefèvre");
    ASSERT_EQ(helene->absences.size(), 1u);
    EXPECT_EQ(helene->absences[0].from, (Date{2026, 12, 21}));
    EXPECT_EQ(helene->absences[0].to, (Date{2027, 1, 3}));
    EXPECT_EQ(helene->absences[0].delegate, "paul.martin");
    EXPECT_NE(c.find_agent("paul.martin"), nullptr);
    EXPECT_EQ(c.find_agent("nobody"), nullptr);
    EXPECT_EQ(c.find_service("etat-civil"), &c.services[0]);
    EXPECT_EQ(c.find_service("nothing"), nullptr);
}

TEST(ConfigMinimal, GetsEveryDefault) {
    const LoadResult result = load_string(kMinimal, "t.yaml");
    ASSERT_EQ(lines(result), (Lines{"ok"}));
    const Config& c = result.config();
    const Limits want_limits;
    const Limits& l = c.gateway.limits;
    EXPECT_EQ(l.max_message_size, 25u << 20);
    EXPECT_EQ(l.max_message_size, want_limits.max_message_size);
    EXPECT_EQ(l.max_recipients, want_limits.max_recipients);
    EXPECT_EQ(l.max_connections, want_limits.max_connections);
    EXPECT_EQ(l.max_connections_per_ip, want_limits.max_connections_per_ip);
    EXPECT_EQ(l.idle_timeout, want_limits.idle_timeout);
    EXPECT_EQ(l.max_header_size, want_limits.max_header_size);
    EXPECT_EQ(l.max_data_in_memory, 256u << 10);
    EXPECT_EQ(l.max_mime_depth, want_limits.max_mime_depth);
    EXPECT_EQ(l.max_mime_parts, want_limits.max_mime_parts);
    EXPECT_EQ(l.max_errors, want_limits.max_errors);
    EXPECT_EQ(l.max_nonmail_commands, want_limits.max_nonmail_commands);
    EXPECT_EQ(l.max_command_length, 512u);
    EXPECT_EQ(l.min_free_space, want_limits.min_free_space);
    EXPECT_EQ(l.shutdown_grace, Seconds{30});
    EXPECT_FALSE(c.gateway.tls.has_value());
    EXPECT_TRUE(c.gateway.trusted_authserv_ids.empty());
    EXPECT_EQ(c.gateway.secret_files, std::vector<std::string>{"var/secret.key"});
    EXPECT_EQ(c.gateway.listen[0].protocol, Protocol::smtp);
    EXPECT_EQ(c.gateway.listen[0].role, Role::public_);
    EXPECT_EQ(c.relay.starttls, StartTls::opportunistic);
    EXPECT_EQ(c.relay.workers, 4u);
    EXPECT_EQ(c.relay.retry, Relay{}.retry);
    EXPECT_EQ(c.relay.max_queue_lifetime, Seconds{5 * 86400});
    EXPECT_EQ(c.relay.connect_timeout, Seconds{30});
    EXPECT_EQ(c.relay.timeout, Seconds{300});
    EXPECT_FALSE(c.relay.username || c.relay.password_file || c.relay.url);
    EXPECT_EQ(c.organisation.language, "fr");
    EXPECT_EQ(c.organisation.holidays, "fr");
    EXPECT_EQ(c.organisation.templates, "templates");
    EXPECT_EQ(c.organisation.from_format, Organisation{}.from_format);
    EXPECT_EQ(c.organisation.postal_address, "");
    const Service& s = c.services.at(0);
    EXPECT_EQ(s.assignment, Assignment::sticky);
    EXPECT_TRUE(s.acknowledge);
    EXPECT_EQ(s.response_days, 5u);
    EXPECT_EQ(s.reopen_days, 30u);
    EXPECT_EQ(s.retention_days, 730u);
    EXPECT_FALSE(s.manager || s.fallback);
    const Agent& a = c.agents.at(0);
    EXPECT_EQ(a.title, "");
    EXPECT_TRUE(a.aliases.empty());
    EXPECT_EQ(a.max_open_cases, 200u);
    EXPECT_FALSE(a.anonymous);
    EXPECT_TRUE(a.is_public);
    EXPECT_TRUE(a.absences.empty());
    EXPECT_EQ(c.ops.metrics_listen, "127.0.0.1:9125");
    EXPECT_EQ(c.ops.log_level, LogLevelName::info);
}

TEST(ConfigMinimal, RelativePathsAreKeptAsWritten) {
    const LoadResult result = load_string(kMinimal, "t.yaml");
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result.config().gateway.spool, "var/spool");
    EXPECT_EQ(result.config().store.sqlite, "var/referent.db");
}

TEST(ConfigErrors, AllAreReportedInOneRunInFileOrder) {
    const std::string yaml = patched("    email: anne@staff.example.fr\n",
                                     "    email: anne@\n"
                                     "    public: yes\n",
                                     patched("  name: Mairie\n", "  name: \"Mai\\nrie\"\n",
                                             patched("port: 2525", "port: 70000")));
    EXPECT_EQ(load_lines(patched("  spool: var/spool\n", "  spool: var/spool\n  spoll: x\n",
                                 patched("agents: [anne]", "agents: [anne, bob]", yaml))),
              (Lines{"t.yaml:4:35: gateway.listen[0].port: must be between 0 and 65535",
                     "t.yaml:6:3: gateway.spoll: unknown key (did you mean \"spool\"?)",
                     "t.yaml:12:9: organisation.name: must not contain CR, LF or NUL "
                     "(found LF at octet 4)",
                     "t.yaml:20:20: services[0].agents[1]: unknown agent \"bob\"",
                     "t.yaml:24:12: agents[0].email: is not a valid email address: the "
                     "domain is empty",
                     "t.yaml:25:13: agents[0].public: must be true or false"}));
}

TEST(ConfigFile, MissingFileIsOneLineWithoutPosition) {
    const std::string path = ::testing::TempDir() + "no-such-dir/referent.yaml";
    EXPECT_EQ(lines(load_file(path)), (Lines{path + ": cannot open: No such file or directory"}));
}

TEST(ConfigFile, DirectoryIsRefused) {
    TempDir dir;
    EXPECT_EQ(lines(load_file(dir.path())), (Lines{dir.path() + ": is a directory"}));
}

TEST(ConfigFile, DiagnosticsNameTheFile) {
    TempDir dir;
    const std::string file = dir.write("bad.yaml", patched("port: 2525", "port: -1"));
    EXPECT_EQ(lines(load_file(file)),
              (Lines{file + ":4:35: gateway.listen[0].port: must not be negative"}));
}

}  // namespace
}  // namespace referent::config::test
