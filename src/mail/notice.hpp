// mail/notice.hpp — the messages the gateway writes itself: acknowledgement, handover and
// absence notices to a citizen; delivery failure, reminder and escalation notices to agents.
//
// Contract:
//  - notice() returns the final bytes (pure CRLF, not dot-stuffed: the relay stuffs) of a
//    multipart/alternative message, text/plain then text/html, both UTF-8 and quoted-printable
//    or base64 by content (message_render.hpp), from the templates of `name` rendered with
//    `context` (context.case_ is required, as for every notice; its number is the case tag).
//    Headers, in this order and nothing else:
//      From        to a citizen (acknowledgement, handover, absence): TemplateSet::display_name
//                  (from_format; anonymous agent: the service) at citizen_reply_address;
//                  to an agent or manager (delivery_failure, reminder, escalation): `sender`,
//                  the gateway's own mailbox. Not the referent: the agent must not believe a
//                  colleague wrote, and a reply must not reach the citizen-facing address as if
//                  it were an answer to the citizen. The operator picks the address (a no-reply
//                  in the gateway's domain, or the service's address); it is an own address for
//                  classify(), so an answer coming back is seen as a loop, not as a citizen.
//      Reply-To    notices to a citizen only: the same as From, so the citizen's answer threads
//                  into the case. Notices to agents have none: From is where answers go.
//      To          `recipient`.
//      Subject     "[<case>] <template subject>": exactly one tag, copies of it coming from a
//                  value (the citizen's own subject, already tagged) are removed.
//      Date, Message-ID <message_id_token@gateway_hostname> (injected, as forward.hpp).
//      In-Reply-To the last of `thread_ids`, References all of them (omitted when empty).
//      Auto-Submitted  auto-replied for acknowledgement and absence (answers to a citizen's
//                  message, RFC 3834 §5), auto-generated for the others.
//      X-Auto-Response-Suppress: All; X-Referent-Loop: gateway_hostname; X-Referent-Case;
//      MIME-Version; the root Content-Type.
//  - Values from the context reach headers only through TemplateSet::subject() and
//    display_name(), which turn every control character into a space: a CR/LF there is
//    escaped, never a new header line. NoticeInput values (addresses, ids, host name) holding
//    CR, LF or NUL, and addresses that are not an addr-spec, are refused (vectors E).
//  - Not done here: the VERP envelope sender and the one-response-per-window rule (RFC 3834
//    §2) belong to the caller, who knows the envelope and the case history.
// Thread-safety: pure; TemplateSet is const. GMime must be initialised (init()); notice()
// calls init() itself.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "mail/message.hpp"
#include "mail/template.hpp"

namespace referent::mail {

struct NoticeInput {
    Mailbox recipient;                    // To: the citizen, the agent or the manager
    std::string citizen_reply_address;    // notices to a citizen: the case's citizen-facing address
    Mailbox sender;                       // notices to agents: the gateway's own mailbox
    std::vector<std::string> thread_ids;  // oldest first, the message answered last; no <>
    std::string gateway_hostname;         // Message-ID domain and loop header value
    std::string message_id_token;         // local part of the new Message-ID (injected)
    std::chrono::system_clock::time_point date;
};

// True for the notices addressed to a citizen (acknowledgement, handover, absence).
bool to_citizen(TemplateName name);

// `name` must be a notice (has_subject()): signature and forward_banner are a bug here.
[[nodiscard]] MailResult<std::string> notice(TemplateName name, const TemplateSet& templates,
                                             const TemplateContext& context,
                                             const NoticeInput& input);

}  // namespace referent::mail
