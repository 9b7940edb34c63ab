// tests/config/errors_test.cpp — one row per kind of error in a single value: structure and
// types, enumerations, units and ranges, addresses. Each row breaks kMinimal in one place and
// expects only the diagnostics that place deserves (no cascade to unrelated keys).
#include <gtest/gtest.h>

#include "config_fixture.hpp"

namespace referent::config::test {
namespace {

std::vector<Case> structure_cases() {
    return {
        {"unknown_top_level_key",
         kMinimal + "opts:\n  log_level: info\n",
         {"t.yaml:24:1: opts: unknown key (did you mean \"ops\"?)"}},
        {"unknown_nested_key",
         with_limits("{ max_recipient: 5 }"),
         {"t.yaml:6:13: gateway.limits.max_recipient: unknown key (did you mean "
          "\"max_recipients\"?)"}},
        {"unknown_key_in_list_item",
         patched("port: 2525 }", "port: 2525, proto: smtp }"),
         {"t.yaml:4:41: gateway.listen[0].proto: unknown key"}},
        {"unknown_agent_key",
         with_agent("    phon: 123"),
         {"t.yaml:24:5: agents[0].phon: unknown key (did you mean \"phone\"?)"}},
        {"empty_key", with_agent("    \"\": x"), {"t.yaml:24:5: agents[0].: unknown key"}},
        {"key_not_a_string",
         with_agent("    ? [a]\n    : x"),
         {"t.yaml:24:7: agents[0]: keys must be plain strings"}},
        {"duplicate_key",
         patched("  spool: var/spool\n", "  spool: var/spool\n  spool: x\n"),
         {"t.yaml:6:3: gateway.spool: duplicate key (first at line 5)"}},
        {"mapping_expected",
         patched("store:\n  sqlite: var/referent.db\n", "store: db\n"),
         {"t.yaml:6:8: store: must be a mapping"}},
        {"string_expected",
         patched("hostname: gw.example.fr", "hostname: [a, b]"),
         {"t.yaml:2:13: gateway.hostname: must be a string"}},
        {"list_expected",
         patched("  listen:\n    - { address: 127.0.0.1, port: 2525 }\n", "  listen: 127.0.0.1\n"),
         {"t.yaml:3:11: gateway.listen: must be a list"}},
        {"quoted_number",
         patched("port: 2525", "port: \"2525\""),
         {"t.yaml:4:35: gateway.listen[0].port: must be a whole number, without quotes"}},
        {"not_a_number",
         patched("port: 2525", "port: 25x"),
         {"t.yaml:4:35: gateway.listen[0].port: must be a whole number"}},
        {"not_a_boolean",
         with_agent("    public: yes"),
         {"t.yaml:24:13: agents[0].public: must be true or false"}},
        {"quoted_boolean",
         with_service("    acknowledge: \"false\""),
         {"t.yaml:20:18: services[0].acknowledge: must be true or false, without quotes"}},
        {"no_value",
         patched("  hostname: gw.example.fr\n", "  hostname:\n"),
         {"t.yaml:2:3: gateway.hostname: has no value"}},
        {"required_key_missing",
         patched("  hostname: gw.example.fr\n", ""),
         {"t.yaml:2:3: gateway.hostname: is required"}},
        {"required_section_missing",
         patched("store:\n  sqlite: var/referent.db\n", ""),
         {"t.yaml:1:1: store: is required"}},
        {"required_agent_name_missing",
         patched("    name: Anne\n", ""),
         {"t.yaml:21:5: agents[0].name: is required"}},
        {"required_listen_port_missing",
         patched(", port: 2525 }", " }"),
         {"t.yaml:4:7: gateway.listen[0].port: is required"}},
        {"empty_services",
         patched(kMinimal.substr(kMinimal.find("services:\n"),
                                 kMinimal.find("agents:\n") - kMinimal.find("services:\n")),
                 "services: []\n"),
         {"t.yaml:14:11: services: must not be an empty list"}},
        {"service_without_agents",
         patched("agents: [anne]", "agents: []"),
         {"t.yaml:19:13: services[0].agents: must not be an empty list"}},
        {"empty_listen",
         patched("  listen:\n    - { address: 127.0.0.1, port: 2525 }\n", "  listen: []\n"),
         {"t.yaml:3:11: gateway.listen: must not be an empty list"}},
    };
}

std::vector<Case> enum_cases() {
    return {
        {"protocol",
         patched("port: 2525 }", "port: 2525, protocol: http }"),
         {"t.yaml:4:51: gateway.listen[0].protocol: must be one of smtp | lmtp"}},
        {"role",
         patched("port: 2525 }", "port: 2525, role: external }"),
         {"t.yaml:4:47: gateway.listen[0].role: must be one of public | internal"}},
        {"starttls",
         with_relay("  starttls: always"),
         {"t.yaml:10:13: relay.starttls: must be one of never | opportunistic | required"}},
        {"assignment",
         with_service("    assignment: random"),
         {"t.yaml:20:17: services[0].assignment: must be one of sticky | least_loaded | "
          "round_robin"}},
        {"language",
         patched("  name: Mairie\n", "  name: Mairie\n  language: de\n"),
         {"t.yaml:12:13: organisation.language: must be one of fr | en"}},
        {"holidays",
         patched("  name: Mairie\n", "  name: Mairie\n  holidays: de\n"),
         {"t.yaml:12:13: organisation.holidays: must be one of fr | none"}},
        {"log_level",
         kMinimal + "ops:\n  log_level: verbose\n",
         {"t.yaml:25:14: ops.log_level: must be one of debug | info | warning | error"}},
    };
}

std::vector<Case> value_cases() {
    return {
        {"size_unknown_unit",
         with_limits("{ max_message_size: 25MB }"),
         {"t.yaml:6:31: gateway.limits.max_message_size: has an unknown unit \"MB\" (units B, "
          "KiB, MiB, GiB or TiB)"}},
        {"size_fraction",
         with_limits("{ max_message_size: 1.5MiB }"),
         {"t.yaml:6:31: gateway.limits.max_message_size: must be a whole number of units, "
          "without fractions (units B, KiB, MiB, GiB or TiB)"}},
        {"size_negative",
         with_limits("{ max_message_size: -1MiB }"),
         {"t.yaml:6:31: gateway.limits.max_message_size: must not be negative"}},
        {"size_overflow",
         with_limits("{ min_free_space: 20000000TiB }"),
         {"t.yaml:6:29: gateway.limits.min_free_space: is too large"}},
        {"size_digits_overflow",
         with_limits("{ min_free_space: 99999999999999999999 }"),
         {"t.yaml:6:29: gateway.limits.min_free_space: is too large"}},
        {"size_no_number",
         with_limits("{ min_free_space: MiB }"),
         {"t.yaml:6:29: gateway.limits.min_free_space: must be written like 25MiB (units B, "
          "KiB, MiB, GiB or TiB)"}},
        {"duration_unknown_unit",
         with_limits("{ idle_timeout: 5min }"),
         {"t.yaml:6:27: gateway.limits.idle_timeout: has an unknown unit \"min\" (units s, m, h "
          "or d)"}},
        {"duration_negative",
         with_limits("{ idle_timeout: -5s }"),
         {"t.yaml:6:27: gateway.limits.idle_timeout: must not be negative"}},
        {"duration_fraction",
         with_relay("  max_queue_lifetime: 1.5d"),
         {"t.yaml:10:23: relay.max_queue_lifetime: must be a whole number of units, without "
          "fractions (units s, m, h or d)"}},
        {"count_negative",
         patched("port: 2525", "port: -1"),
         {"t.yaml:4:35: gateway.listen[0].port: must not be negative"}},
        {"count_overflow",
         with_limits("{ max_recipients: 99999999999999999999 }"),
         {"t.yaml:6:29: gateway.limits.max_recipients: is too large"}},
        {"count_out_of_range",
         with_limits("{ max_recipients: 0 }"),
         {"t.yaml:6:29: gateway.limits.max_recipients: must be between 1 and 100000"}},
        {"port_out_of_range",
         patched("port: 2525", "port: 65536"),
         {"t.yaml:4:35: gateway.listen[0].port: must be between 0 and 65535"}},
        {"date_not_real",
         with_agent("    absences: [{ from: 2026-02-30, to: 2026-03-01 }]"),
         {"t.yaml:24:24: agents[0].absences[0].from: is not a real calendar date (years 1970 "
          "to 9999)"}},
        {"date_not_leap",
         with_agent("    absences: [{ from: 2027-02-29, to: 2027-03-01 }]"),
         {"t.yaml:24:24: agents[0].absences[0].from: is not a real calendar date (years 1970 "
          "to 9999)"}},
        {"date_format",
         with_agent("    absences: [{ from: 21/12/2026, to: 2027-01-03 }]"),
         {"t.yaml:24:24: agents[0].absences[0].from: must be a date written YYYY-MM-DD"}},
        {"date_order",
         with_agent("    absences: [{ from: 2026-12-21, to: 2026-12-20 }]"),
         {"t.yaml:24:40: agents[0].absences[0].to: must not be before from (2026-12-21)"}},
        {"absence_missing_to",
         with_agent("    absences: [{ from: 2026-12-21 }]"),
         {"t.yaml:24:16: agents[0].absences[0].to: is required"}},
    };
}

std::vector<Case> address_cases() {
    return {
        {"email_no_domain",
         patched("email: anne@staff.example.fr", "email: anne@"),
         {"t.yaml:23:12: agents[0].email: is not a valid email address: the domain is empty"}},
        {"email_no_at",
         patched("email: anne@staff.example.fr", "email: anne"),
         {"t.yaml:23:12: agents[0].email: is not a valid email address: no '@'"}},
        {"email_local_part_65",
         patched("email: anne@", "email: " + std::string(61, 'a') + "anne@"),
         {"t.yaml:23:12: agents[0].email: is not a valid email address: the local part is "
          "longer than 64 octets"}},
        {"email_quoted_local_part",
         patched("email: anne@staff.example.fr", "email: '\"anne m\"@staff.example.fr'"),
         {"t.yaml:23:12: agents[0].email: is not a valid email address: the local part "
          "contains '\"'"}},
        {"email_double_dot",
         patched("email: anne@", "email: an..ne@"),
         {"t.yaml:23:12: agents[0].email: is not a valid email address: the local part has a "
          "misplaced dot"}},
        {"email_empty_label",
         patched("email: anne@staff.example.fr", "email: anne@staff..fr"),
         {"t.yaml:23:12: agents[0].email: is not a valid email address: the domain has an "
          "empty label"}},
        {"email_domain_256",
         patched("email: anne@staff.example.fr",
                 "email: anne@" + std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                     std::string(63, 'c') + "." + std::string(63, 'd') + ".fr"),
         {"t.yaml:23:12: agents[0].email: is not a valid email address: the domain is longer "
          "than 255 octets"}},
        {"alias_invalid",
         with_agent("    aliases: [anne.example.fr]"),
         {"t.yaml:24:15: agents[0].aliases[0]: is not a valid email address: no '@'"}},
        {"manager_invalid",
         with_service("    manager: chef"),
         {"t.yaml:20:14: services[0].manager: is not a valid email address: no '@'"}},
        {"fallback_invalid",
         with_service("    fallback: equipe@-x.fr"),
         {"t.yaml:20:15: services[0].fallback: is not a valid email address: the domain has a "
          "label starting or ending with '-'"}},
        {"service_address_invalid",
         patched("address: ec@example.fr", "address: ec@example_fr"),
         {"t.yaml:17:14: services[0].address: is not a valid email address: the domain "
          "contains '_'"}},
        {"service_address_outside_citizen_domain",
         patched("address: ec@example.fr", "address: ec@example.com"),
         {"t.yaml:17:14: services[0].address: must be in organisation.citizen_domain "
          "(example.fr)"}},
        {"service_address_in_parent_domain",
         patched("address: ec@example.fr", "address: ec@sub.example.fr"),
         {"t.yaml:17:14: services[0].address: must be in organisation.citizen_domain "
          "(example.fr)"}},
        {"agent_email_in_agent_domain",
         patched("email: anne@staff.example.fr", "email: anne@Referent.example.fr"),
         {"t.yaml:23:12: agents[0].email: must not be in organisation.agent_domain "
          "(referent.example.fr): mail to it would loop back into the gateway"}},
        {"manager_is_a_service_address",
         with_service("    manager: EC@example.fr"),
         {"t.yaml:20:14: services[0].manager: must not be a service address: mail to it would "
          "loop back"}},
    };
}

}  // namespace

TEST_P(ConfigError, IsReportedWithFileLineColumnAndPath) {
    EXPECT_EQ(load_lines(GetParam().yaml), GetParam().want) << GetParam().yaml;
}

namespace {

INSTANTIATE_TEST_SUITE_P(Structure, ConfigError, ::testing::ValuesIn(structure_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Enum, ConfigError, ::testing::ValuesIn(enum_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Value, ConfigError, ::testing::ValuesIn(value_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Address, ConfigError, ::testing::ValuesIn(address_cases()), case_name);

}  // namespace
}  // namespace referent::config::test
