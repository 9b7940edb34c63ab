// ops/privacy_commands.hpp — what the GDPR asks of the gateway's operators.
//
//   export --citizen ADDRESS DIR   the right of access (art. 15): everything held about one
//                                  citizen, as DIR/citizen.json (cases, messages, referents,
//                                  events) and each kept message as DIR/<case>/<n>-<dir>-<kind>.eml
//   purge [--dry-run]              retention (art. 5(1)(e)): CaseStore::purge, reported
//
// Contract: as session.hpp (exit 0 / 1 / 2, --help). export refuses a DIR that exists and is
// not empty (2), so two exports never mix; it writes nothing for an address without cases but
// says so (exit 0, "no case"). Addresses compare ASCII case-insensitively.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace referent::ops {

int export_command(const std::string& config_path, const std::vector<std::string>& args,
                   std::ostream& out, std::ostream& err);
int purge_command(const std::string& config_path, const std::vector<std::string>& args,
                  std::ostream& out, std::ostream& err);

}  // namespace referent::ops
