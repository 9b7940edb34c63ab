// mail/template_context.hpp — everything a template may say, as plain structs.
//
// Contract: the caller fills a TemplateContext with display-ready strings (dates already
// formatted with format_date, addresses as they should be read) and passes it to TemplateSet.
// TemplateSet converts it to Mustache data in one place (template.cpp), where two rules hold:
//   - values are inserted verbatim (quotes, "<script>", CRLF and "." lines included), except
//     NUL and 0x1F, which are removed;
//   - an empty string is absent: `{{#agent.phone}}…{{/agent.phone}}` is skipped when the phone
//     is "", and `{{^…}}` runs instead;
//   - an anonymous card (Card::anonymous, CRPA L111-2's exception) carries no personal name and
//     no title at all, and its email is replaced by the service's: the service speaks. The name
//     is not hidden by the templates, it never reaches them.
// Which parts each template may use is listed in template.hpp. No I/O, no state; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace referent::mail {

struct OrganisationInfo {
    std::string name;
    std::string postal_address;
};

struct ServiceInfo {
    std::string name;
    std::string email;  // the service's citizen-facing address (config Service::address)
    std::string phone;  // optional
};

// A person's (or, anonymous, the service's) card: who answers, how to reach them.
struct Card {
    std::string name;
    std::string title;
    std::string service;         // the service's name
    std::string phone;           // direct line
    std::string email;           // the address the reader should write to
    std::string hours;           // "du lundi au vendredi, de 9 h à 12 h"
    std::string postal_address;  // administrative address (CRPA L111-2)
    bool anonymous = false;
};

struct CitizenInfo {
    std::string name;  // display name as given, may be ""
    std::string email;
};

struct CaseInfo {
    std::string number;                  // "EC-2026-000042"
    std::string subject;                 // the citizen's subject, optional
    std::string opened;                  // formatted date; the date the first message was received
    std::string due;                     // formatted date; answer due by
    std::uint32_t earlier_messages = 0;  // the citizen's messages before this one
    CitizenInfo citizen;
};

struct AbsenceInfo {
    std::optional<Card> delegate;  // none: the service's other agents cover
    std::string until;             // formatted date, last day of absence (inclusive)
};

struct FailureInfo {
    std::string recipient;   // the address that failed
    std::string status;      // "5.1.1"
    std::string diagnostic;  // the remote server's words, verbatim
};

enum class HandoverReason { reassigned, absence, departure };

struct HandoverInfo {
    HandoverReason reason = HandoverReason::reassigned;
};

// Why an agent's reply did not go to the citizen (reply_refused).
struct RefusalInfo {
    std::string reason;    // one sentence, in the organisation's language
    std::string referent;  // the case's referent today, when the sender no longer is; may be ""
};

struct TemplateContext {
    OrganisationInfo organisation;
    ServiceInfo service;
    Card agent;  // the referent (signature, acknowledgement, handover: the new one; absence:
                 // the absent one; delivery_failure and reminder: the addressee)
    std::optional<CaseInfo> case_;
    std::optional<AbsenceInfo> absence;
    std::optional<FailureInfo> failure;
    std::optional<HandoverInfo> handover;
    std::optional<RefusalInfo> refusal;
};

enum class Sample {
    full,       // every field set, every optional part present, named agent
    anonymous,  // anonymous agent, optional strings empty, no delegate
};

// Realistic contexts used at load to render every template once, and by tests. Dates are
// formatted in `language`.
TemplateContext sample_context(std::string_view language, Sample sample);

// "1er mars 2026" (fr), "1 March 2026" (en), ISO 8601 for any other language.
std::string format_date(const config::Date& date, std::string_view language);

// The card of a configured agent in a service; `email` is the address the reader should use
// (for a citizen: the case's citizen-facing address, never the agent's internal mailbox).
Card make_card(const config::Agent& agent, const config::Service& service,
               const config::Organisation& organisation, std::string email);

}  // namespace referent::mail
