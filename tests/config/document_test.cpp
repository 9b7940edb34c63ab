// tests/config/document_test.cpp — CR, LF and NUL in any string (vectors E1 and E2 of
// shared/vectors), problems of the document as a whole (syntax, several documents, empty), and
// documents built to be expensive (alias bombs, huge mappings, self-referencing aliases, a
// stray ',' that stalls yaml-cpp).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "config_fixture.hpp"

namespace referent::config::test {
namespace {

std::vector<Case> control_character_cases() {
    return {
        {"E1_crlf_header_injection",
         agent_name("\"Agent Smith\\r\\nBcc: victim@example.net\""),
         {"t.yaml:22:11: agents[0].name: " + kForbidden + " (found CR at octet 12)"}},
        {"E2_bare_lf",
         agent_name("\"Agent\\nSmith\""),
         {"t.yaml:22:11: agents[0].name: " + kForbidden + " (found LF at octet 6)"}},
        {"E2_bare_cr",
         agent_name("\"Agent\\rSmith\""),
         {"t.yaml:22:11: agents[0].name: " + kForbidden + " (found CR at octet 6)"}},
        {"E2_nul_short_escape",
         agent_name("\"Agent\\0Smith\""),
         {"t.yaml:22:11: agents[0].name: " + kForbidden + " (found NUL at octet 6)"}},
        {"E2_nul_hex_escape",
         agent_name("\"Agent\\x00Smith\""),
         {"t.yaml:22:11: agents[0].name: " + kForbidden + " (found NUL at octet 6)"}},
        {"E2_nul_unicode_escape",
         agent_name("\"Agent\\u0000Smith\""),
         {"t.yaml:22:11: agents[0].name: " + kForbidden + " (found NUL at octet 6)"}},
        {"E2_raw_nul_octet",
         agent_name(std::string("Agent\0Smith", 11)),
         {"t.yaml:22:16: the file contains a NUL octet"}},
        {"literal_block_scalar",
         agent_name("|\n      Agent\n      Smith"),
         {"t.yaml:22:11: agents[0].name: " + kForbidden + " (found LF at octet 6)"}},
        {"in_a_list_item",
         with_agent("    aliases: [\"anne2@staff.example.fr\\r\"]"),
         {"t.yaml:24:15: agents[0].aliases[0]: " + kForbidden + " (found CR at octet 23)"}},
        {"in_an_enum",
         patched("port: 2525 }", "port: 2525, protocol: \"smtp\\n\" }"),
         {"t.yaml:4:51: gateway.listen[0].protocol: " + kForbidden + " (found LF at octet 5)"}},
        {"in_a_number",
         patched("port: 2525", "port: \"2525\\0\""),
         {"t.yaml:4:35: gateway.listen[0].port: " + kForbidden + " (found NUL at octet 5)"}},
        {"in_a_path",
         patched("  spool: var/spool", "  spool: \"var/\\nspool\""),
         {"t.yaml:5:10: gateway.spool: " + kForbidden + " (found LF at octet 5)"}},
        {"in_a_key",
         with_agent("    \"ph\\none\": x"),
         {"t.yaml:24:5: agents[0].ph\\none: " + kForbidden + " (found LF at octet 3)",
          "t.yaml:24:5: agents[0].ph\\none: unknown key (did you mean \"phone\"?)"}},
        {"in_an_unknown_key_value",
         kMinimal + "extra: \"a\\rb\"\n",
         {"t.yaml:24:1: extra: unknown key",
          "t.yaml:24:8: extra: " + kForbidden + " (found CR at octet 2)"}},
    };
}

std::vector<Case> document_cases() {
    return {
        {"syntax_error",
         patched("agents: [anne]", "agents: [anne"),
         {"t.yaml:20:7: YAML syntax error: end of sequence flow not found"}},
        {"two_documents",
         kMinimal + "---\nfoo: 1\n",
         {"t.yaml:25:1: only one YAML document is allowed"}},
        {"empty_file", "", {"t.yaml:1:1: the configuration is empty"}},
        {"comments_only", "# nothing here\n", {"t.yaml:1:1: the configuration is empty"}},
        {"top_level_list", "- gateway\n", {"t.yaml:1:1: the top level must be a mapping"}},
        // The bound on documents: one is read (kMinimal loads), a second is refused and the
        // first still checked.
        {"two_documents_first_checked",
         patched("port: 2525", "port: 99999") + "---\nfoo: 1\n",
         {"t.yaml:4:35: gateway.listen[0].port: must be between 0 and 65535",
          "t.yaml:25:1: only one YAML document is allowed"}},
        {"three_documents",
         kMinimal + "---\nfoo: 1\n---\nbar: 2\n",
         {"t.yaml:25:1: only one YAML document is allowed"}},
    };
}

// A ',' that no YAML rule consumes makes yaml-cpp 0.7 report empty documents at the same place
// forever (yaml-cpp issue #1040); YAML::LoadAll ran out of memory on it (found by config_fuzz).
const std::string kStrayComma = "YAML syntax error: unexpected \",\" outside [ ] or { }";

std::vector<Case> stall_cases() {
    return {
        {"comma_alone", ",", {"t.yaml:1:1: " + kStrayComma}},
        {"comma_then_text", ", a", {"t.yaml:1:1: " + kStrayComma}},
        // config_fuzz's input: a comment line of the example file cut so that it starts with ','.
        {"comma_before_the_mapping",
         "# Email addresses: at most 64 octets (no quoted\n, starting with a letter\n" + kMinimal,
         {"t.yaml:2:1: " + kStrayComma}},
        {"comma_after_a_list", "- a\n,\n", {"t.yaml:2:1: " + kStrayComma}},
        {"comma_after_an_anchor", "&a ,", {"t.yaml:1:4: " + kStrayComma}},
        {"comma_after_a_tag", "!t ,", {"t.yaml:1:4: " + kStrayComma}},
        {"comma_after_a_directive", "%YAML 1.2\n,", {"t.yaml:2:1: " + kStrayComma}},
        {"comma_in_the_second_document",
         kMinimal + "---\n,\n",
         {"t.yaml:25:1: only one YAML document is allowed"}},
        // Inside a mapping yaml-cpp itself refuses it.
        {"comma_inside_the_mapping",
         patched("store:\n", ",\nstore:\n"),
         {"t.yaml:6:1: YAML syntax error: end of map not found"}},
    };
}

INSTANTIATE_TEST_SUITE_P(ControlCharacter, ConfigError,
                         ::testing::ValuesIn(control_character_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Document, ConfigError, ::testing::ValuesIn(document_cases()), case_name);

// Resident memory of `pid` in MiB, from /proc (0 once it is gone).
long rss_mib(pid_t pid) {
    std::ifstream statm("/proc/" + std::to_string(pid) + "/statm");
    long pages = 0, resident = 0;
    statm >> pages >> resident;
    return resident * sysconf(_SC_PAGESIZE) / (1 << 20);
}

// Loads `yaml` in a child process and tells whether it finished within 30 s and 512 MiB more
// than it started with: without the fix the stall grows without end, and this test must fail
// rather than exhaust the machine.
bool loads_within_bounds(const std::string& yaml) {
    const long start = rss_mib(getpid());
    const pid_t pid = fork();
    if (pid == 0) {
        (void)load_string(yaml, "t.yaml");
        _exit(0);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline || rss_mib(pid) > start + 512) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// Each stall case is first loaded in a child: before the fix it never returns.
class ConfigStall : public ::testing::TestWithParam<Case> {};

TEST_P(ConfigStall, RefusedInBoundedMemory) {
    ASSERT_TRUE(loads_within_bounds(GetParam().yaml));
    EXPECT_EQ(load_lines(GetParam().yaml), GetParam().want);
}

INSTANTIATE_TEST_SUITE_P(StrayComma, ConfigStall, ::testing::ValuesIn(stall_cases()), case_name);

TEST(ConfigDocument, AliasBombIsRefusedQuickly) {
    std::string yaml = kMinimal + "bomb:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n";
    for (char level = 'b'; level <= 'h'; ++level) {
        const char prev = static_cast<char>(level - 1);
        yaml += std::string("  ") + level + ": &" + level + " [*" + prev + ", *" + prev + ", *" +
                prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev +
                ", *" + prev + ", *" + prev + "]\n";
    }
    const Lines got = load_lines(yaml);
    ASSERT_EQ(got.size(), 1u) << ::testing::PrintToString(got);
    EXPECT_NE(got[0].find("the document is nested too deeply or is too large"), std::string::npos)
        << got[0];
}

// Keys are indexed, not compared pairwise: 20,000 keys in one mapping stay cheap to check.
TEST(ConfigDocument, HugeMappingIsChecked) {
    std::string yaml = kMinimal;
    for (int i = 0; i < 20'000; ++i) yaml += "    k" + std::to_string(i) + ": 1\n";
    yaml += "    k7: 2\n";
    const Lines got = load_lines(yaml);
    ASSERT_EQ(got.size(), 20'001u);
    EXPECT_EQ(got[0], "t.yaml:24:5: agents[0].k0: unknown key");
    EXPECT_EQ(got[20'000], "t.yaml:20024:5: agents[0].k7: duplicate key (first at line 31)");
}

TEST(ConfigDocument, SelfReferencingAliasTerminates) {
    const Lines got = load_lines(kMinimal + "loop: &l [1, *l]\n");
    EXPECT_NE(got, Lines{"ok"});
}

}  // namespace
}  // namespace referent::config::test
