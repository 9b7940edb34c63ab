// tests/config/rules_test.cpp — errors that involve the whole file (duplicates, references,
// domains, exactly-one-of, limits that contradict each other) and the syntax of ids, host
// names and URLs; then the variants a too-strict loader would wrongly refuse.
#include <gtest/gtest.h>

#include "config_fixture.hpp"

namespace referent::config::test {
namespace {

std::vector<Case> duplicate_cases() {
    return {
        {"service_id",
         second_service("ec", "ec2@example.fr", "EC2"),
         {"t.yaml:20:9: services[1].id: duplicate service id \"ec\" (first at services[0].id, "
          "line 15)"}},
        {"case_prefix",
         second_service("ec2", "ec2@example.fr", "EC"),
         {"t.yaml:23:18: services[1].case_prefix: duplicate case prefix \"EC\" (first at "
          "services[0].case_prefix, line 18)"}},
        {"service_address",
         second_service("ec2", "EC@Example.fr", "EC2"),
         {"t.yaml:22:14: services[1].address: duplicate address \"EC@Example.fr\" (first at "
          "services[0].address, line 17)"}},
        {"agent_id",
         second_agent("anne", "bob@staff.example.fr"),
         {"t.yaml:24:9: agents[1].id: duplicate agent id \"anne\" (first at agents[0].id, line "
          "21)"}},
        {"agent_email",
         second_agent("bob", "Anne@staff.example.fr"),
         {"t.yaml:26:12: agents[1].email: duplicate address \"Anne@staff.example.fr\" (first at "
          "agents[0].email, line 23)"}},
        {"alias_of_another_agent",
         second_agent("bob", "bob@staff.example.fr", "    aliases: [anne@staff.example.fr]\n"),
         {"t.yaml:27:15: agents[1].aliases[0]: duplicate address \"anne@staff.example.fr\" "
          "(first at agents[0].email, line 23)"}},
        {"alias_of_itself",
         with_agent("    aliases: [anne@staff.example.fr]"),
         {"t.yaml:24:15: agents[0].aliases[0]: duplicate address \"anne@staff.example.fr\" "
          "(first at agents[0].email, line 23)"}},
        {"agent_email_is_service_address",
         patched("email: anne@staff.example.fr", "email: ec@example.fr"),
         {"t.yaml:23:12: agents[0].email: duplicate address \"ec@example.fr\" (first at "
          "services[0].address, line 17)"}},
        {"listener",
         patched("  spool:", "    - { address: 127.0.0.1, port: 2525 }\n  spool:"),
         {"t.yaml:5:7: gateway.listen[1]: duplicate listener \"127.0.0.1:2525\" (first at "
          "gateway.listen[0], line 4)"}},
        {"listener_ipv6_spelling",
         patched("    - { address: 127.0.0.1, port: 2525 }\n",
                 "    - { address: ::1, port: 2525 }\n    - { address: 0:0::1, port: 2525 }\n"),
         {"t.yaml:5:7: gateway.listen[1]: duplicate listener \"[::1]:2525\" (first at "
          "gateway.listen[0], line 4)"}},
        {"agent_in_one_service_twice",
         patched("agents: [anne]", "agents: [anne, anne]"),
         {"t.yaml:19:20: services[0].agents[1]: duplicate agent \"anne\" (first at "
          "services[0].agents[0], line 19)"}},
    };
}

std::vector<Case> reference_cases() {
    return {
        {"unknown_service_agent",
         patched("agents: [anne]", "agents: [anne, bob]"),
         {"t.yaml:19:20: services[0].agents[1]: unknown agent \"bob\""}},
        {"unknown_delegate",
         with_agent("    absences: [{ from: 2026-12-21, to: 2027-01-03, delegate: bob }]"),
         {"t.yaml:24:62: agents[0].absences[0].delegate: unknown agent \"bob\""}},
        {"self_delegate",
         with_agent("    absences: [{ from: 2026-12-21, to: 2027-01-03, delegate: anne }]"),
         {"t.yaml:24:62: agents[0].absences[0].delegate: an agent cannot be their own "
          "delegate"}},
    };
}

std::vector<Case> syntax_cases() {
    return {
        {"hostname",
         patched("hostname: gw.example.fr", "hostname: gw_1.example.fr"),
         {"t.yaml:2:13: gateway.hostname: is not a valid host name: it contains '_'"}},
        {"listen_address_not_literal",
         patched("127.0.0.1", "localhost"),
         {"t.yaml:4:18: gateway.listen[0].address: must be an IPv4 or IPv6 address literal"}},
        {"listen_address_bad_ipv4",
         patched("127.0.0.1", "127.0.0.256"),
         {"t.yaml:4:18: gateway.listen[0].address: must be an IPv4 or IPv6 address literal"}},
        {"service_id",
         patched("  - id: ec\n", "  - id: Ec\n"),
         {"t.yaml:15:9: services[0].id: must start with a lower-case letter or a digit"}},
        {"agent_id",
         patched("agents: [anne]", "agents: [anne!]", patched("id: anne", "id: anne!")),
         {"t.yaml:21:9: agents[0].id: may contain only a-z, 0-9, '.', '_' and '-' (found '!')"}},
        {"case_prefix",
         patched("case_prefix: EC", "case_prefix: E-C"),
         {"t.yaml:18:18: services[0].case_prefix: must be 1 to 8 upper-case letters or digits, "
          "starting with a letter"}},
        {"case_prefix_too_long",
         patched("case_prefix: EC", "case_prefix: ECABCDEFG"),
         {"t.yaml:18:18: services[0].case_prefix: must be 1 to 8 upper-case letters or digits, "
          "starting with a letter"}},
        {"citizen_domain",
         patched("citizen_domain: example.fr", "citizen_domain: example..fr"),
         {"t.yaml:12:19: organisation.citizen_domain: is not a valid domain name: it has an "
          "empty label"}},
        {"agent_domain_numeric",
         patched("agent_domain: referent.example.fr", "agent_domain: 10.0.0.1"),
         {"t.yaml:13:17: organisation.agent_domain: is not a valid domain name: it ends with a "
          "numeric label"}},
        {"domains_equal",
         patched("agent_domain: referent.example.fr", "agent_domain: Example.FR"),
         {"t.yaml:13:17: organisation.agent_domain: must differ from "
          "organisation.citizen_domain"}},
        {"relay_url_scheme",
         patched("  maildir: var/outbox", "  url: http://relay.example.fr"),
         {"t.yaml:9:8: relay.url: must start with smtp:// or smtps://"}},
        {"relay_url_credentials",
         patched("  maildir: var/outbox", "  url: smtp://u:p@relay.example.fr"),
         {"t.yaml:9:8: relay.url: must not hold credentials: use relay.username and "
          "relay.password_file"}},
        {"relay_url_port",
         patched("  maildir: var/outbox", "  url: smtps://relay.example.fr:99999"),
         {"t.yaml:9:8: relay.url: is not a valid URL: it has a port above 65535"}},
        {"metrics_listen",
         kMinimal + "ops:\n  metrics_listen: 127.0.0.1\n",
         {"t.yaml:25:19: ops.metrics_listen: must be host:port or \"\": it has no port"}},
        {"authserv_id",
         patched("  spool:", "  trusted_authserv_ids: [\"mx example\"]\n  spool:"),
         {"t.yaml:5:26: gateway.trusted_authserv_ids[0]: must not contain spaces or ';'"}},
        {"empty_name",
         patched("  name: Mairie", "  name: \"\""),
         {"t.yaml:11:9: organisation.name: must not be empty"}},
    };
}

std::vector<Case> rule_cases() {
    return {
        {"store_both",
         patched("  sqlite: var/referent.db\n",
                 "  sqlite: var/referent.db\n  postgresql: dbname=referent\n"),
         {"t.yaml:7:3: store: needs exactly one of sqlite and postgresql"}},
        {"store_none",
         patched("store:\n  sqlite: var/referent.db\n", "store: {}\n"),
         {"t.yaml:6:8: store: needs exactly one of sqlite and postgresql"}},
        {"relay_both",
         with_relay("  url: smtp://127.0.0.1:25"),
         {"t.yaml:9:3: relay: needs exactly one of url and maildir"}},
        {"relay_none",
         patched("relay:\n  maildir: var/outbox\n", "relay: { workers: 2 }\n"),
         {"t.yaml:8:8: relay: needs exactly one of url and maildir"}},
        {"username_without_password_file",
         with_relay("  username: referent"),
         {"t.yaml:10:13: relay.username: requires relay.password_file"}},
        {"password_in_clear",
         patched("relay:\n  maildir: var/outbox\n",
                 "relay:\n  url: smtp://relay.example:587\n  username: referent\n"
                 "  password_file: /etc/pw\n"),
         {"t.yaml:10:13: relay.username: requires relay.starttls: required with an smtp:// url "
          "(or smtps://)"}},
        {"password_file_without_username",
         with_relay("  password_file: /etc/pw"),
         {"t.yaml:10:18: relay.password_file: is used only with relay.username"}},
        {"tls_without_key",
         patched("  spool:", "  tls: { certificate: /etc/c.crt }\n  spool:"),
         {"t.yaml:5:8: gateway.tls.key: is required"}},
        {"secret_files_empty",
         patched("  spool:", "  secret_files: []\n  spool:"),
         {"t.yaml:5:17: gateway.secret_files: must not be an empty list"}},
        {"retry_empty",
         with_relay("  retry: []"),
         {"t.yaml:10:10: relay.retry: must not be an empty list"}},
        {"retry_zero",
         with_relay("  retry: [1m, 0s]"),
         {"t.yaml:10:15: relay.retry[1]: must be between 1s and 7d"}},
        {"retry_too_long",
         with_relay("  retry: [8d]"),
         {"t.yaml:10:11: relay.retry[0]: must be between 1s and 7d"}},
        {"per_ip_above_max_connections",
         with_limits("{ max_connections_per_ip: 300 }"),
         {"t.yaml:6:37: gateway.limits.max_connections_per_ip: must not exceed "
          "gateway.limits.max_connections (200)"}},
        {"max_connections_below_default_per_ip",
         with_limits("{ max_connections: 10 }"),
         {"t.yaml:6:30: gateway.limits.max_connections: must be at least "
          "gateway.limits.max_connections_per_ip (20)"}},
        {"header_above_message",
         with_limits("{ max_message_size: 100KiB }"),
         {"t.yaml:6:31: gateway.limits.max_message_size: must be at least "
          "gateway.limits.max_header_size (256KiB)"}},
        {"reopen_after_retention",
         with_service("    reopen_days: 800"),
         {"t.yaml:20:18: services[0].reopen_days: must not exceed services[0].retention_days "
          "(730)"}},
    };
}

INSTANTIATE_TEST_SUITE_P(Duplicate, ConfigError, ::testing::ValuesIn(duplicate_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Reference, ConfigError, ::testing::ValuesIn(reference_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Syntax, ConfigError, ::testing::ValuesIn(syntax_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Rule, ConfigError, ::testing::ValuesIn(rule_cases()), case_name);

// Accepted variants that a too-strict loader would refuse.
class ConfigAccepts : public ::testing::TestWithParam<Case> {};

TEST_P(ConfigAccepts, Loads) {
    EXPECT_EQ(load_lines(GetParam().yaml), Lines{"ok"});
}

INSTANTIATE_TEST_SUITE_P(
    Variant, ConfigAccepts,
    ::testing::ValuesIn(std::vector<Case>{
        {"service_domain_case_insensitive",
         patched("address: ec@example.fr", "address: EC@EXAMPLE.FR"),
         {}},
        {"leap_day", with_agent("    absences: [{ from: 2028-02-29, to: 2028-02-29 }]"), {}},
        {"absence_without_delegate",
         with_agent("    absences: [{ from: 2026-12-21, to: 2027-01-03 }]"),
         {}},
        {"ipv6_listener", patched("127.0.0.1", "::1"), {}},
        {"two_listeners_on_port_zero",
         patched("port: 2525 }\n", "port: 0 }\n    - { address: 127.0.0.1, port: 0 }\n"),
         {}},
        {"same_port_other_address",
         patched("port: 2525 }\n", "port: 2525 }\n    - { address: 127.0.0.2, port: 2525 }\n"),
         {}},
        {"utf8_local_part", patched("email: anne@", "email: anne-hélène@"), {}},
        {"folded_plain_scalar", agent_name("Anne\n      Dupont"), {}},
        {"boolean_capitalised", with_agent("    public: False"), {}},
        {"bare_numbers_are_octets_and_seconds",
         with_limits("{ max_header_size: 4096, idle_timeout: 90 }"),
         {}},
        {"metrics_disabled", kMinimal + "ops: { metrics_listen: \"\" }\n", {}},
        {"metrics_on_ipv6", kMinimal + "ops: { metrics_listen: \"[::1]:9125\" }\n", {}},
        {"postgresql_store",
         patched("  sqlite: var/referent.db", "  postgresql: \"host=db dbname=referent\""),
         {}},
        {"relay_url_with_credentials_files",
         patched(
             "  maildir: var/outbox",
             "  url: smtps://relay.example.fr:465\n  username: referent\n  password_file: /etc/pw"),
         {}},
        {"tls_complete",
         patched("  spool:", "  tls: { certificate: /etc/c.crt, key: /etc/c.key }\n  spool:"),
         {}},
        {"crlf_line_endings",
         [] {
             std::string text;
             for (char c : kMinimal) text += c == '\n' ? std::string("\r\n") : std::string(1, c);
             return text;
         }(),
         {}},
        {"yaml_anchor_and_alias",
         patched("  - id: anne\n", "  - id: *anne\n",
                 patched("agents: [anne]", "agents: [&anne anne]")),
         {}},
    }),
    case_name);

}  // namespace
}  // namespace referent::config::test
