// cases/threading.hpp — which case an inbound citizen message belongs to.
//
// Contract: decide_thread() is pure; the store looks up the facts in its transaction and
// records the decision and its rule. The rules, in order:
//  0. duplicate: the sender already sent this very message (the same Message-ID, the same
//     From address) to the same service, and it is in a case → that case, as a second delivery
//     of it: an MTA's retry after a 250 it never saw (a connection cut after the end of DATA,
//     RFC 1047; a gateway killed before it answered, whose neighbour then gets the retry). It
//     is recorded, and neither forwarded nor acknowledged again; a closed case is not reopened
//     by it. Only the same sender's message counts, so a stranger reusing a citizen's
//     Message-ID is threaded by the rules below like any other message;
//  1. token: a verified citizen-reply token among the recipients names a case → that case. A
//     sender other than the case's citizen (a spouse, a lawyer) is attached but flagged, so the
//     referent is told. A token whose party is not the case's citizen id is ignored (it cannot
//     be minted so: the MAC covers both; this holds if the store's rows were ever changed);
//  2. reference: In-Reply-To / References name a Message-ID recorded in a case whose citizen is
//     the sender;
//     Or the other way round: an inbound message of a case whose citizen is the sender names
//     this message's Message-ID — its follow-up got there first (two gateways, each holding
//     one of them; or a crash that held the first one back);
//  3. subject_tag: "[EC-2026-000042]" names an existing case whose citizen is the sender;
//  4. new_case: otherwise. Knowing a case number or a Message-ID never lets a stranger in: a
//     stranger's message opens a case of their own.
// A match on a case closed less than its service's reopen_days ago reopens it; closed longer
// ago, the message opens a new case that names the old one as predecessor.
// Senders compare ASCII case-insensitively on the whole address.
// Thread-safety: pure, thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cases/model.hpp"

namespace referent::cases {

enum class ThreadRule { duplicate, token, reference, subject_tag, new_case };
const char* to_string(ThreadRule r);

// What the message says about its thread.
struct ThreadKeys {
    std::optional<std::uint32_t> token_case;   // case id of a verified citizen-reply token
    std::optional<std::uint32_t> token_party;  // its party: the citizen id it was minted for
    std::vector<std::string> references;       // In-Reply-To first, then References, newest first
    std::vector<std::string> subject_tags;     // case numbers written in the subject
    std::string sender;                        // the From address
    std::string service;  // the service addressed (its id; record_inbound: the request's)
};

// A case as threading sees it.
struct ThreadCandidate {
    std::int64_t id = 0;
    std::string number;
    std::string citizen_address;
    std::int64_t citizen_id = 0;
    CaseStatus status = CaseStatus::open;
    std::optional<Instant> closed;
    std::uint32_t reopen_days = 0;  // of the case's service
    std::string service;            // the case's service (its id)
};

// An inbound message already recorded in a case with this message's own Message-ID.
struct RecordedCopy {
    ThreadCandidate kase;  // its case
    std::string sender;    // its From address
};

// What the store found for the keys.
struct ThreadFacts {
    std::optional<ThreadCandidate> by_token;
    std::vector<ThreadCandidate> by_reference;   // cases holding a referenced Message-ID
    std::vector<ThreadCandidate> referenced_by;  // cases with a message naming this one
    std::vector<ThreadCandidate> by_tag;         // cases whose number is a subject tag
    std::vector<RecordedCopy> same_message;      // inbound messages with this Message-ID
};

struct ThreadDecision {
    ThreadRule rule = ThreadRule::new_case;
    std::optional<std::int64_t> case_id;      // the case to join (or reopen)
    std::optional<std::int64_t> predecessor;  // new_case after a case closed too long ago
    bool reopen = false;
    bool flagged = false;  // token used by someone other than the case's citizen
    std::string reason;    // one line for the event log
};

ThreadDecision decide_thread(const ThreadKeys& keys, const ThreadFacts& facts, Instant now);

// Case numbers in a subject, as "[PREFIX-YYYY-NNNNNN]" tags (prefix: letters and digits,
// 6 digits or more); upper-cased, in order, without repeats, at most `max`.
std::vector<std::string> subject_case_numbers(std::string_view subject, std::size_t max);

bool same_address(std::string_view a, std::string_view b);

}  // namespace referent::cases
