// ops/queue_commands.hpp — referentctl's view of the spool, safe while referentd runs.
//
//   queue [--json]        outbound items: id, kind, case, recipient, state (due: waiting for
//                         a worker; deferred: after a temporary failure), attempts, next
//                         try, last error
//   retry ID... | --all   a deferred item's next try becomes now; the running relay picks it
//                         up within seconds (Outgoing::request_retry)
//   spool [--json]        incoming/ (received, not yet processed) and corrupt/ (quarantined,
//                         with the reason)
//   requeue ID            a quarantined message back to incoming/ after a fix
//                         (Spool::requeue); the processor takes it at its next rescan
//
// Contract: exit codes as session.hpp (an unknown id: 2; the spool unusable: 1).
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace referent::ops {

int queue_command(const std::string& config_path, const std::vector<std::string>& args,
                  std::ostream& out, std::ostream& err);
int retry_command(const std::string& config_path, const std::vector<std::string>& args,
                  std::ostream& out, std::ostream& err);
int spool_command(const std::string& config_path, const std::vector<std::string>& args,
                  std::ostream& out, std::ostream& err);
int requeue_command(const std::string& config_path, const std::vector<std::string>& args,
                    std::ostream& out, std::ostream& err);

}  // namespace referent::ops
