// tests/config/config_fixture.hpp — a minimal valid configuration and helpers to break it.
//
// kMinimal holds only the required keys; its line numbers are relied on by the tables of
// expected diagnostics, so change it only together with them (the numbers are in the margin).
// A Case is one row of those tables: a broken file and the exact lines an operator reads. The
// ConfigError suite runs them; each test file instantiates it with its own tables.
#pragma once

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "config/load.hpp"

namespace referent::config::test {

inline const std::string kMinimal =
    "gateway:\n"                                  //  1
    "  hostname: gw.example.fr\n"                 //  2
    "  listen:\n"                                 //  3
    "    - { address: 127.0.0.1, port: 2525 }\n"  //  4
    "  spool: var/spool\n"                        //  5
    "store:\n"                                    //  6
    "  sqlite: var/referent.db\n"                 //  7
    "relay:\n"                                    //  8
    "  maildir: var/outbox\n"                     //  9
    "organisation:\n"                             // 10
    "  name: Mairie\n"                            // 11
    "  citizen_domain: example.fr\n"              // 12
    "  agent_domain: referent.example.fr\n"       // 13
    "services:\n"                                 // 14
    "  - id: ec\n"                                // 15
    "    name: État civil\n"                      // 16
    "    address: ec@example.fr\n"                // 17
    "    case_prefix: EC\n"                       // 18
    "    agents: [anne]\n"                        // 19
    "agents:\n"                                   // 20
    "  - id: anne\n"                              // 21
    "    name: Anne\n"                            // 22
    "    email: anne@staff.example.fr\n";         // 23

// kMinimal with the first occurrence of `find` replaced (the test fails if it is missing).
inline std::string patched(std::string_view find, std::string_view replace,
                           std::string text = kMinimal) {
    const auto at = text.find(find);
    EXPECT_NE(at, std::string::npos) << "not in the fixture: " << find;
    if (at != std::string::npos) text.replace(at, find.size(), replace);
    return text;
}

// Every diagnostic as its printed line; {"ok"} when the configuration loads.
inline std::vector<std::string> lines(const LoadResult& result) {
    if (result.ok()) return {"ok"};
    std::vector<std::string> out;
    for (const Diagnostic& d : result.diagnostics()) out.push_back(d.to_string());
    return out;
}

inline std::vector<std::string> load_lines(const std::string& yaml) {
    return lines(load_string(yaml, "t.yaml"));
}

using Lines = std::vector<std::string>;

struct Case {
    std::string name;
    std::string yaml;
    Lines want;
};

inline std::ostream& operator<<(std::ostream& os, const Case& c) {
    return os << c.name;
}

// Appends a service "ec2" (lines 20–24) after the first; agents then start at line 25.
inline std::string second_service(const std::string& id, const std::string& address,
                                  const std::string& prefix) {
    return patched("    agents: [anne]\n",
                   "    agents: [anne]\n  - id: " + id + "\n    name: Autre\n    address: " +
                       address + "\n    case_prefix: " + prefix + "\n    agents: [anne]\n");
}

// Appends an agent at lines 24–26, then `extra` from line 27.
inline std::string second_agent(const std::string& id, const std::string& email,
                                const std::string& extra = "") {
    return kMinimal + "  - id: " + id + "\n    name: Bob\n    email: " + email + "\n" + extra;
}

inline std::string with_limits(const std::string& flow) {
    return patched("  spool: var/spool\n", "  spool: var/spool\n  limits: " + flow + "\n");
}
inline std::string with_relay(const std::string& line) {
    return patched("  maildir: var/outbox\n", "  maildir: var/outbox\n" + line + "\n");
}
inline std::string with_service(const std::string& line) {
    return patched("    agents: [anne]\n", "    agents: [anne]\n" + line + "\n");
}
inline std::string with_agent(const std::string& line) {
    return kMinimal + line + "\n";
}
inline std::string agent_name(const std::string& yaml_value) {
    return patched("    name: Anne\n", "    name: " + yaml_value + "\n");
}

inline const std::string kForbidden = "must not contain CR, LF or NUL";

class ConfigError : public ::testing::TestWithParam<Case> {};

inline std::string case_name(const ::testing::TestParamInfo<Case>& info) {
    return info.param.name;
}

}  // namespace referent::config::test
