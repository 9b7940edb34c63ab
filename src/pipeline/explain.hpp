// pipeline/explain.hpp — a dry run of one raw message through the whole flow.
//
// Contract: explain() parses and classifies `raw` as the listener `envelope.role` would, then
// runs the flow (threading, assignment, agent verification, rendering) inside a store group
// that is always rolled back, and an outgoing/ that is never written: it reports what the
// gateway would decide and send, and changes nothing (no case, no event, no item, no sequence
// number). The spool id is "explain". The events are those the flow wrote before the rollback.
// A store that cannot be used is an error (temporary or permanent, as CaseStore's).
#pragma once

#include <string>
#include <vector>

#include "cases/model.hpp"
#include "mail/classify.hpp"
#include "pipeline/processor.hpp"
#include "spool/envelope.hpp"
#include "spool/outgoing.hpp"

namespace referent::pipeline {

struct Explanation {
    std::string refusal;  // the parser's refusal, "" when the message parsed
    mail::Classification classification;
    std::vector<spool::OutgoingMessage> would_send;
    std::vector<cases::Event> events;  // the decisions, with their reasons
    std::string error;                 // the flow's own error (it would quarantine or retry)
};

util::Result<Explanation> explain(const ProcessorDeps& deps, const std::string& raw,
                                  const spool::Envelope& envelope);

}  // namespace referent::pipeline
