// ops/assign.hpp — `referentctl assign CASE AGENT --reason TEXT`: hand a case over.
//
// Contract: loads and checks the configuration (as check-config), opens the store and the
// spool the configuration names, and runs pipeline::hand_over(): the store records the new
// referent, the citizen's handover notice and the new referent's history are committed to
// outgoing/, where the running referentd's relay picks them up. Prints one line:
// "CASE: AGENT (was PREVIOUS), 2 messages queued". Exit 0; 1 when the store or the spool
// cannot be used; 2 for a configuration or usage error, an unknown case or agent, the same
// referent, or an empty reason (nothing changed).
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace referent::ops {

int assign_command(const std::string& config_path, const std::vector<std::string>& args,
                   std::ostream& out, std::ostream& err);

}  // namespace referent::ops
