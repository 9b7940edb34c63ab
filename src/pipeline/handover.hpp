// pipeline/handover.hpp — a case changes hands (mobility, workload), with everything that goes
// with it.
//
// Contract: hand_over() has the store record the new referent with its reason (history,
// event), then commits to outgoing/: the handover notice to the citizen (handover templates,
// the new referent's card; the citizen's reply addresses keep working), and the case's history
// to the new referent as a forward they can answer (the citizen's messages and the replies
// sent, oldest first, attached byte-exact). The former referent's agent token now meets a
// polite refusal naming the new referent (agent_flow). Safe from referentctl while referentd
// runs: the relay picks the items up on its next scan of outgoing/.
// Errors: unknown case or agent, same referent, empty reason: permanent (nothing changed);
// store or disk trouble: temporary.
#pragma once

#include <string>
#include <vector>

#include "cases/case_store.hpp"
#include "pipeline/processor.hpp"

namespace referent::pipeline {

struct HandoverOutcome {
    cases::Handover handover;
    std::vector<std::string> items;  // outgoing/ ids committed
};

util::Result<HandoverOutcome> hand_over(const ProcessorDeps& deps, const std::string& number,
                                        const std::string& agent, const std::string& reason);

}  // namespace referent::pipeline
