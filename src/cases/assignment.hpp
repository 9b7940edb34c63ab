// cases/assignment.hpp — who gets a new case, and who reads a case's mail today.
//
// Contract: pure functions; the store gathers the facts (loads, absences, history) inside its
// transaction and records the decision with its reason.
// choose_referent() follows the service's policy over `candidates` (the service's agents, in
// configuration order):
//  - sticky: the citizen's most recent referent in this service when available, else as
//    least_loaded;
//  - least_loaded: fewest open cases; ties go to the first candidate after `last_assigned` in
//    round-robin order;
//  - round_robin: the first available candidate after `last_assigned` (wrapping).
// Available = not absent on the day and open_cases < max_open_cases. When nobody is available
// the decision has no agent: the case goes to the service's fallback mailbox, and the reason
// says why (everyone absent, everyone at capacity, no agents).
// covering() answers who receives a referent's mail on a day: the referent, or during one of
// its absences the absence's delegate (when the delegate is not itself absent that day), else
// nobody named (the service's fallback).
// Thread-safety: pure, thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace referent::cases {

struct AbsencePeriod {
    std::string agent;
    std::chrono::year_month_day from;  // inclusive
    std::chrono::year_month_day to;    // inclusive
    std::string delegate;              // agent id, "" = none
};

struct Candidate {
    std::string agent;
    std::uint32_t open_cases = 0;
    std::uint32_t max_open_cases = 0;
};

struct AssignmentInput {
    config::Assignment policy = config::Assignment::sticky;
    std::vector<Candidate> candidates;
    std::vector<AbsencePeriod> absences;  // all known, any agent
    std::chrono::year_month_day today;
    std::optional<std::string> previous;       // sticky: citizen's latest referent here
    std::optional<std::string> last_assigned;  // round-robin cursor of the service
};

struct AssignmentDecision {
    std::optional<std::string> agent;  // nullopt: the service's fallback mailbox
    std::string rule;                  // "sticky", "least_loaded", "round_robin", "fallback"
    std::string reason;                // one line for the event log
};

AssignmentDecision choose_referent(const AssignmentInput& in);

// The absence of `agent` covering `day`, if any (the latest-starting one when several overlap).
std::optional<AbsencePeriod> absence_on(const std::vector<AbsencePeriod>& absences,
                                        const std::string& agent, std::chrono::year_month_day day);

struct Covering {
    std::optional<std::string> agent;      // who receives the mail; nullopt: fallback
    std::optional<AbsencePeriod> absence;  // set when the referent is away
};
Covering covering(const std::string& referent, const std::vector<AbsencePeriod>& absences,
                  std::chrono::year_month_day day);

// The absences written in the configuration, as periods.
std::vector<AbsencePeriod> config_absences(const config::Config& config);

}  // namespace referent::cases
