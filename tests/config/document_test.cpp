// tests/config/document_test.cpp — CR, LF and NUL in any string (vectors E1 and E2 of
// shared/vectors), problems of the document as a whole (syntax, several documents, empty), and
// documents built to be expensive (alias bombs, huge mappings, self-referencing aliases).
#include <gtest/gtest.h>

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
    };
}

INSTANTIATE_TEST_SUITE_P(ControlCharacter, ConfigError,
                         ::testing::ValuesIn(control_character_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Document, ConfigError, ::testing::ValuesIn(document_cases()), case_name);

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
