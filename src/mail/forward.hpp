// mail/forward.hpp — a citizen's message, made ready for the referent's mailbox.
//
// Contract:
//  - forward() returns the final bytes (pure CRLF, not dot-stuffed: the relay stuffs) of the
//    citizen's message as the referent receives it:
//      From and Reply-To: "<citizen name or address> (<case>)" <agent_reply_address>
//      To: the referent (or delegate); Subject: "[<case>] <subject>", tag never doubled;
//      Date: `date`; Message-ID: <message_id_token@gateway_hostname>; In-Reply-To and
//      References: the earlier forwards of the case (threading in the agent's client);
//      X-Referent-Case, X-Referent-Loop: gateway_hostname, X-Auto-Response-Suppress: OOF,
//      AutoReply; X-Original-Date: the citizen's Date (kept for the agent, under a name no
//      client threads or sorts on).
//    Dropped from the citizen's header: trace and authentication (Received, Return-Path,
//    DKIM-Signature, ARC-*, Authentication-Results, Received-SPF), threading and addressing
//    (Message-ID, In-Reply-To, References, Reply-To, To, Cc, Bcc, Sender, Resent-*), receipts
//    (Disposition-Notification-To, Return-Receipt-To), list headers (an agent's client would
//    offer to unsubscribe), Auto-Submitted and any X-Referent-* (a citizen cannot forge ours).
//    Other headers (X-Mailer, User-Agent, Content-Language, Importance…) are kept verbatim.
//  - The banner (forward_banner templates) goes at the top of the first text/plain and the
//    first text/html part that are the citizen's own text (not attachments, not inside an
//    attached message); those parts are re-encoded as UTF-8 (QP or base64). A message with no
//    such part gets a multipart/mixed wrapper: banner first, the citizen's body unchanged after.
//    Every other part is written back as parsed: attachments identical after decoding.
//  - A message that must not be rewritten (Message::refuse_rewrite()) is handed to
//    forward_wrapped() by forward() itself. The caller calls forward_wrapped() directly when
//    parse() refused the bytes. forward_wrapped() attaches `raw` untouched: as message/rfc822
//    (7bit or 8bit) when it is CRLF-only, NUL-free with lines under 998 octets, else as
//    application/octet-stream "original.eml" in base64, byte-exact either way.
//  - Refusal: a value that would go into a header holds CR, LF or NUL (vectors E).
// Thread-safety: as Message; TemplateSet is const.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mail/message.hpp"
#include "mail/template.hpp"

namespace referent::mail {

struct ForwardInput {
    std::string case_number;
    Mailbox citizen;                  // from the case: display name (may be "") and address
    std::string referent_address;     // the referent, or the delegate covering
    std::string agent_reply_address;  // opaque, from the cases layer
    std::vector<std::string> earlier_forward_ids;  // oldest first, without angle brackets
    std::string gateway_hostname;                  // Message-ID domain and loop header value
    std::string message_id_token;                  // local part of the new Message-ID (injected)
    std::chrono::system_clock::time_point date;
    const TemplateSet* templates = nullptr;
    TemplateContext context;  // banner data: case_ (number, opened, due, earlier count, citizen)
};

[[nodiscard]] MailResult<std::string> forward(const Message& citizen_msg, std::string_view raw,
                                              const ForwardInput& input);

// `subject`: the decoded subject when known ("" otherwise); `reason` goes in
// X-Referent-Wrapped for the agent and the log (no message content in it).
[[nodiscard]] MailResult<std::string> forward_wrapped(std::string_view raw,
                                                      const ForwardInput& input,
                                                      std::string_view reason,
                                                      std::string_view subject = {});

// A case's history for a new referent (handover): the forward's headers and banner (so a reply
// to it reaches the citizen like a reply to any forward), `note` under the banner, then every
// earlier message of the case, oldest first, attached byte-exact as "message-N.eml"
// (message/rfc822 when it travels as 8bit, else base64).
[[nodiscard]] MailResult<std::string> forward_history(const std::vector<std::string>& raws,
                                                      const ForwardInput& input,
                                                      std::string_view note,
                                                      std::string_view subject);

}  // namespace referent::mail
