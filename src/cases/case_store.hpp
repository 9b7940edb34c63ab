// cases/case_store.hpp — the store of cases: use-case methods, one transaction each.
//
// Contract: every method is one transaction on the database: it either happens whole or not at
// all, and a temporary error (busy, serialization failure, lost connection) is retried inside
// the method a few times before it is returned. Inbound and outbound records are idempotent on
// their key (the spool id; the outbound key): a replay after a crash returns the first outcome
// and changes nothing. Every decision is written to the append-only event log with its reason.
// The store takes the configuration at open (services, agents, absences, calendar) and the
// clock; it never reads the real time itself.
// Implementations: SqlCaseStore over SQLite or PostgreSQL (sql_case_store.hpp), opened from the
// configuration by open_case_store() (open_store.hpp).
// Thread-safety: all methods may be called from any thread; calls are serialised per store.
// group() bundles several calls of one thread into one transaction (the processor's batches).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cases/assignment.hpp"
#include "cases/model.hpp"
#include "cases/threading.hpp"
#include "config/config.hpp"
#include "util/result.hpp"

namespace referent::cases {

struct InboundRequest {
    // Idempotency key, unique across every gateway sharing the store: "<hostname>/<spool id>".
    // Reusing one for another message (other Message-ID or sender) is refused.
    std::string spool_id;
    std::string service;  // the service the message was addressed to (service id)
    ThreadKeys keys;
    std::string sender_name;
    std::string message_id;  // the message's own Message-ID, "" when it has none
    std::string subject;
    std::string kind;           // the class: human, auto-reply, bulk, bounce, loop
    bool may_open_case = true;  // false for auto-replies and bulk: join a case, never open one
    std::string raw;            // kept until the retention purge
};

struct InboundOutcome {
    bool replay = false;        // recorded before: nothing changed, this is the first outcome
    std::optional<Case> case_;  // nullopt: not threaded, and not allowed to open a case
    ThreadRule rule = ThreadRule::new_case;
    bool created = false;
    bool reopened = false;
    bool flagged = false;  // reply token used by someone other than the citizen
    std::string reason;    // the threading decision's reason
    // Who reads the case's mail today: the referent, or its delegate during an absence;
    // nullopt: the service's fallback mailbox.
    std::optional<std::string> recipient;
    std::optional<AbsencePeriod> absence;       // the referent's absence covering today
    bool tell_absence = false;                  // first message of this case during this absence
    std::int64_t message = 0;                   // the MessageRecord id
    std::uint32_t earlier_messages = 0;         // inbound messages of the case before this one
    std::vector<std::string> earlier_forwards;  // Message-IDs of the case's earlier forwards
};

struct OutboundRequest {
    std::string key;  // idempotency key, e.g. "<spool id>/forward/<recipient>"
    std::int64_t case_id = 0;
    std::string kind;  // forward, reply, acknowledgement, notice…
    std::string message_id;
    std::string sender;
    std::string subject;
    std::vector<std::string> recipients;  // one delivery each
    std::string raw;
    // Events (kind, detail) of the decision that made this message, written in the same
    // transaction, once: a replay neither loses nor repeats them.
    std::vector<std::pair<std::string, std::string>> events = {};
};

struct OutboundOutcome {
    bool replay = false;
    std::int64_t message = 0;
    // The recorded message's Message-ID: on a replay, the first record's. Gateways make their
    // Message-IDs from the key and their own hostname, so another one means another gateway
    // recorded this key (a deadline notice both saw due) and makes its item itself.
    std::string message_id;
    std::vector<std::int64_t> deliveries;  // in the order of the recipients
    std::vector<DeliveryState> states;     // of each delivery (a replay may find them done)
};

enum class AgentVerdict { referent, delegate, former_referent, not_on_case, unknown_case };
const char* to_string(AgentVerdict v);

struct AgentCheck {
    AgentVerdict verdict = AgentVerdict::unknown_case;
    std::optional<Case> case_;
    std::string current;  // the case's referent (to name in a refusal); "" = fallback
};

struct Handover {
    Case case_;  // after the change
    std::string previous;
    std::vector<MessageRecord> history;  // the case's messages, for the new referent
};

struct CaseFilter {
    std::optional<std::string> service;
    std::optional<std::string> agent;
    std::optional<CaseStatus> status;
    std::optional<std::string> citizen;  // the citizen's address, ASCII case-insensitive
    bool overdue = false;                // open and due before today
    std::size_t limit = 1000;
};

class CaseStore {
public:
    virtual ~CaseStore() = default;

    // Threads (or opens and assigns) and records an inbound message. Two messages of one
    // sender are decided one after the other, even on two gateways sharing the database, so
    // a follow-up joins its first message's case whichever of the two is recorded first.
    virtual util::Result<InboundOutcome> record_inbound(const InboundRequest& r) = 0;
    // The threading decision for these keys, changing nothing (referentctl explain, benchmarks).
    virtual util::Result<ThreadDecision> find_thread(const ThreadKeys& keys) = 0;
    virtual util::Result<OutboundOutcome> record_outbound(const OutboundRequest& r) = 0;
    virtual util::Status set_delivery(std::int64_t delivery, DeliveryState state,
                                      const std::string& error) = 0;

    // The store's id for an agent (the party of its reply tokens); created on first use.
    virtual util::Result<std::uint32_t> agent_party(const std::string& agent) = 0;
    // May `agent` (the sender of a reply carrying an agent token of `case_id`) answer?
    virtual util::Result<AgentCheck> check_agent(std::int64_t case_id,
                                                 const std::string& agent) = 0;

    virtual util::Result<Handover> reassign(const std::string& number, const std::string& agent,
                                            const std::string& reason) = 0;
    virtual util::Result<Case> close(const std::string& number) = 0;
    virtual util::Result<Case> reopen(const std::string& number) = 0;

    virtual util::Result<StoredAbsence> add_absence(const AbsencePeriod& a) = 0;
    // Ends the agent's stored absences covering today (they end yesterday) and drops its future
    // ones; returns how many changed. Absences from the configuration are the YAML's.
    virtual util::Result<std::size_t> end_absence(const std::string& agent) = 0;
    virtual util::Result<std::vector<StoredAbsence>> absences() = 0;  // stored and configured

    virtual util::Result<std::optional<Case>> find_case(const std::string& number) = 0;
    virtual util::Result<std::optional<Case>> case_by_id(std::int64_t id) = 0;
    virtual util::Result<std::vector<Case>> list_cases(const CaseFilter& f) = 0;
    virtual util::Result<CaseFile> case_file(const std::string& number) = 0;
    // The bytes kept of a message (nullopt once purged, or for an unknown id).
    virtual util::Result<std::optional<std::string>> message_raw(std::int64_t message) = 0;
    // The Message-IDs of a case's conversation with its citizen (the messages received and the
    // referents' replies; not the gateway's own notices), oldest first, the newest `max`:
    // In-Reply-To / References of the next reply.
    virtual util::Result<std::vector<std::string>> citizen_thread(std::int64_t case_id,
                                                                  std::size_t max) = 0;
    // Automatic messages (every outbound kind but forward and reply) sent to `recipient`
    // (ASCII case-insensitive) in the 24 hours before now: the notices' rate limit.
    virtual util::Result<std::uint32_t> notices_sent(const std::string& recipient) = 0;
    // Open cases due on or before `until` that no referent has answered yet (no outbound
    // reply), earliest due first, at most `limit`: the deadlines' reminders and escalations.
    virtual util::Result<std::vector<Case>> awaiting_answer(Day until, std::size_t limit) = 0;
    // How many cases are open, and how many of them are past their due date (metrics).
    struct Counts {
        std::uint64_t open = 0, overdue = 0;
    };
    virtual util::Result<Counts> counts() = 0;

    // The retention purge: for each service, the cases closed more than its retention_days
    // ago lose their messages' bytes and subjects, their inbound senders and their delivery
    // addresses; a citizen all of whose cases are so purged gets a pseudonym
    // ("citizen-<id>@purged.invalid", no name). Case numbers, dates, referents and the event
    // log stay. `dry_run`: counts what would change, changes nothing. Idempotent.
    struct PurgeReport {
        std::uint64_t cases = 0, messages = 0, citizens = 0;
    };
    virtual util::Result<PurgeReport> purge(bool dry_run) = 0;

    // The cases opened since `since`, each with its first referent reply (none yet: nullopt)
    // and its number of handovers (referent periods after the first): `referentctl stats`.
    struct Activity {
        Case case_;
        std::optional<Instant> first_reply;
        std::uint32_t handovers = 0;
    };
    virtual util::Result<std::vector<Activity>> activity(Instant since) = 0;
    virtual util::Status record_event(std::optional<std::int64_t> case_id, const std::string& kind,
                                      const std::string& detail) = 0;

    // Group commit: the calls `body` makes on this store (from this thread) share one database
    // transaction, so several messages cost one commit (one flush of the log) instead of one
    // each. Each call is a savepoint: a failing call rolls back alone and returns its error
    // (not retried in place: the group's caller retries later). Ok: the group is durable. An
    // error (begin or commit failed, or the database rolled the group's transaction back under
    // one of its calls, as SQLite does on an I/O error or a full disk: the calls after that
    // fail at once): nothing of the group was kept, whatever its calls returned. Calls from
    // other threads wait until the group ends; groups do not nest.
    virtual util::Status group(const std::function<void()>& body) = 0;

    // Live reload: the services, agents, absences and calendar the next calls use.
    virtual void set_config(std::shared_ptr<const config::Config> config) = 0;
};

}  // namespace referent::cases
