// ops/explain_command.hpp — `referentctl explain FILE [--listener public|internal]
// [--from ADDR] [--to ADDR]`: what the gateway would do with a message, changing nothing.
//
// Contract: reads FILE (bounded by gateway.limits.max_message_size), builds the envelope
// (--from: default the message's From address; --to: default its To address when it holds
// one mailbox; the
// listener: default public) and prints pipeline::explain()'s report: the class and its
// reason, each message that would be sent (kind, recipient, case, envelope sender), the
// decisions with their reasons, then each message's full text. Exit 0 (whatever the verdict),
// 1 when FILE or the store cannot be read, 2 for a usage or configuration error.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace referent::ops {

int explain_command(const std::string& config_path, const std::vector<std::string>& args,
                    std::ostream& out, std::ostream& err);

}  // namespace referent::ops
