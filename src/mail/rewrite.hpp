// mail/rewrite.hpp — the referent's reply, made fit for the citizen.
//
// Contract:
//  - rewrite() returns the final bytes (pure CRLF, not dot-stuffed: the relay stuffs) and the
//    internal notes it removed (for the case log, never sent):
//      From and Reply-To: TemplateSet::display_name(context) (from_format; anonymous: the
//      service) at citizen_reply_address, RFC 2047 when not ASCII; To: the citizen;
//      Subject: reply_subject() (one case tag, one "Re:"); Date; Message-ID: <message_id>;
//      In-Reply-To: the citizen's last message id, References: all of them;
//      X-Referent-Case and X-Referent-Loop (so a copy coming back is known as ours).
//    None of the agent's own header fields is kept (an allowlist of nothing): Received,
//    X-Originating-IP, X-MS-Exchange-*, Thread-Index, DKIM-Signature, X-Mailer… all go. The
//    MIME headers of the body (Content-*) stay with their parts.
//  - In the first text/plain and first text/html parts that are the agent's own text: the
//    forward banner is removed from the quoted text (reply_text.hpp, every client's quoting),
//    internal notes are removed, the signature card (signature templates) is inserted before
//    the quoted text; the parts are re-encoded as UTF-8. Attachments are written back as parsed.
//  - The agent reply address of the forward (quoted in "De : … <r-…@…>" lines, where the
//    forward's From named the citizen) becomes the citizen's own address in the text parts: a
//    citizen who learnt it could write as the agent, and the quote then reads as written.
//  - Anonymous agent (context.agent.anonymous): the display name is the service's; every
//    occurrence of identity.name and identity.address in the text parts (the agent's own
//    signature, the quoted "À : Marie Lambert <…>" line) becomes the service's name and the
//    citizen-facing address, in plain and HTML-escaped form. Names written another way (other
//    case, accents decomposed) are not found: documented limit.
//  - Refusals: the message is damaged (refuse_rewrite()); it has no text part of its own; its
//    own text is empty once banner, notes and quotes are set aside; a value to write in a header
//    holds CR, LF or NUL, or an address is not an addr-spec.
// Thread-safety: as Message; TemplateSet is const.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "mail/message.hpp"
#include "mail/template.hpp"

namespace referent::mail {

struct AgentIdentity {
    std::string name;     // the real name, even when the card is anonymous
    std::string address;  // the agent's internal mailbox
};

struct RewriteInput {
    std::string case_number;
    Mailbox citizen;
    std::string citizen_reply_address;             // the case's citizen-facing address
    std::vector<std::string> citizen_message_ids;  // oldest first, without angle brackets
    AgentIdentity identity;
    std::string agent_reply_address;  // the forward's From: replaced in quotes (never disclosed)
    std::string gateway_hostname;     // loop header value
    std::string message_id;           // complete new id, without angle brackets (injected)
    std::chrono::system_clock::time_point date;
    const TemplateSet* templates = nullptr;
    TemplateContext context;  // agent card (anonymous flag), service, organisation, case
};

struct RewriteOutput {
    std::string bytes;
    std::vector<std::string> internal_notes;
};

[[nodiscard]] MailResult<RewriteOutput> rewrite(const Message& agent_reply,
                                                const RewriteInput& input);

}  // namespace referent::mail
