// pipeline/flow.hpp — PRIVATE to src/pipeline/: one inbound message on its way through.
//
// Contract: a Flow is built for one message read from incoming/; citizen() handles the
// `public` listener's mail, agent() the `internal` one's. Each returns ok with the outbound
// items to commit in `items`, or an Error: temporary (retry later), permanent (quarantine).
// Each outbound message is recorded in the store (record_outbound, idempotent on its key)
// before its item exists, and an item whose delivery a replay finds already done is not made.
// Also here: the reply addresses (tokens) and the template contexts built from a case.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cases/case_store.hpp"
#include "mail/classify.hpp"
#include "mail/message.hpp"
#include "pipeline/processor.hpp"
#include "spool/envelope.hpp"

namespace referent::pipeline {

struct Inbound {
    std::string spool_id;
    std::string key;  // "<gateway hostname>/<spool id>": unique across gateways
    spool::Envelope envelope;
    std::string raw;
    std::optional<mail::Message> message;  // nullopt: parse refused
    std::string refusal;                   // why, when refused
    mail::Classification cls;
};

class Flow {
public:
    Flow(const ProcessorDeps& deps, Inbound& in) : d_(deps), in_(in) {}

    util::Status citizen();
    util::Status agent();
    util::Status handover(const cases::Handover& h);  // handover.cpp
    // The deadline notice for a case awaiting its answer (deadlines.cpp): `reminder` to whoever
    // reads the case's mail today, `escalation` to the service's manager.
    util::Status deadline(const cases::Case& kase, mail::TemplateName name);

    std::vector<spool::OutgoingMessage> items;
    // A replay found an item of this flow waiting in outgoing/ already, so it is not in
    // `items`. An earlier try renamed it in, perhaps without a durable fsync of outgoing/:
    // the caller syncs outgoing/ (Outgoing::sync) before it removes what the flow came from.
    bool found_waiting = false;

private:
    struct Out {  // one outbound message for one recipient
        std::string kind;
        const cases::Case* case_ = nullptr;
        std::string message_id;
        std::string sender;  // From address, for the store
        std::string subject;
        std::string rcpt;
        std::string bytes;
        bool verp = false;  // mail to a citizen: the bounce token is the envelope sender
        std::vector<std::pair<std::string, std::string>> events = {};  // with the record
        // The store's idempotency key; "" for "<inbound key>/<kind>/<rcpt>". Another message
        // queued under a key already recorded (by another message) sends nothing.
        std::string key = {};
    };
    util::Status queue(const Out& o);
    util::Status citizen_for(const config::Service& service,
                             std::optional<cases::TokenClaims> token);
    util::Status forward(const cases::InboundOutcome& o, const config::Service& service);
    util::Status notice_to_citizen(mail::TemplateName name, const cases::InboundOutcome& o,
                                   const config::Service& service);
    util::Status bounce(const cases::TokenClaims& claims);

public:
    // Our message to a citizen failed for good (a bounce, or the relay's permanent answer):
    // the delivery is marked failed and the case's referent told, once per address and day.
    util::Status delivery_failed(std::int64_t case_id, std::int64_t delivery,
                                 const std::string& status, const std::string& diagnostic);

private:
    // True (and logged) when `rcpt` already got limits.max_notices_per_day automatic messages.
    util::Result<bool> notice_limit_reached(const cases::Case& kase, const std::string& rcpt);
    // Records why an agent's message did not go to the citizen; when `notify` names the
    // configured agent who sent it (and the message is no automatic one), that agent gets one
    // reply_refused notice with `sentence` (organisation language) and `referent`.
    // `code`: the short reason (metrics label): no_token, automatic, unreadable, bad_from,
    // not_an_agent, envelope_mismatch, another_agents_token, not_authenticated,
    // former_referent, not_on_case, rewrite_refused.
    util::Status refuse_agent(std::optional<std::int64_t> case_id, std::string_view code,
                              const std::string& why, const config::Agent* notify = nullptr,
                              const std::string& sentence = "", const std::string& referent = "");
    std::string new_id(std::string_view what) const;  // deterministic Message-ID

    const ProcessorDeps& d_;
    Inbound& in_;
    int next_item_ = 0;
};

// Addresses carrying reply tokens (token.hpp), and the service a recipient names.
std::string local_part(std::string_view address);
const config::Service* service_of(const config::Config& c, std::string_view rcpt);
std::optional<std::string> subaddress(std::string_view rcpt);
util::Result<std::string> citizen_reply_address(const config::Config& c, const cases::TokenKeys& k,
                                                const cases::Case& kase);
util::Result<std::string> agent_reply_address(const config::Config& c, const cases::TokenKeys& k,
                                              const cases::Case& kase, std::uint32_t party);
util::Result<std::string> bounce_address(const config::Config& c, const cases::TokenKeys& k,
                                         const cases::Case& kase, std::int64_t delivery);
// The configured agent whose email or alias is `address` (ASCII case-insensitive).
const config::Agent* agent_by_address(const config::Config& c, std::string_view address);

// What the templates may say about a case; `agent` may be null (the fallback mailbox: the
// service speaks). `card_email`: where the reader should write.
mail::TemplateContext context_for(const config::Config& c, const cases::Case& kase,
                                  const config::Agent* agent, const std::string& card_email,
                                  std::uint32_t earlier_messages, const std::string& subject);

}  // namespace referent::pipeline
