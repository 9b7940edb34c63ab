// mail/bounce_report.hpp — what a case needs to know from a bounce: who failed, how, and
// which of our messages it was.
//
// Contract: extract_bounce_report() reads a message already classified as a bounce and never
// fails: a field it cannot find is "". Where each field comes from, first found wins:
//  - the delivery report: the first message/delivery-status (RFC 3464) or
//    message/global-delivery-status (RFC 6533, UTF-8) part outside attached messages; its
//    per-recipient block with Action "failed" is chosen, else its first per-recipient block;
//  - action:          Action, lower-case; else from the status class (5 → failed,
//                     4 → delayed, 2 → delivered); else "delayed" when the text says so
//                     ("has been delayed", "will be retried"…); else "failed" (a bounce).
//  - status:          Status (the d.d.d code); else the first 4.x.x / 5.x.x code in
//                     Diagnostic-Code; else the first one in the bounce's own text.
//  - final_recipient: Final-Recipient, then Original-Recipient, its address-type ("rfc822;")
//                     and angle brackets removed; else the first X-Failed-Recipients address
//                     (Exim); else the first address in the bounce's own text that is not the
//                     bounce's From or To, nor a mailer-daemon or postmaster (Gmail, Exim,
//                     Office 365 bodies).
//  - diagnostic_code: Diagnostic-Code, its type ("smtp;") removed; else the line of the
//                     bounce's text holding the status code (or else an SMTP reply code).
//  - original_message_id: Message-ID of the returned original (message/rfc822,
//                     message/global, text/rfc822-headers, message/global-headers); else a
//                     "Message-ID:" line quoted in the bounce's text (Exim, Gmail).
//  - recipients:      every Final-Recipient of the report, else every X-Failed-Recipients
//                     address, else final_recipient alone.
//  - source:          "message/delivery-status", "message/global-delivery-status" or "text".
// The bounce's own text is its first text/plain part (or text/html with tags removed), not
// an attached message. Values are sanitised: valid UTF-8, no CR, LF or NUL, at most 300
// octets. Pure function of the Message; same thread-safety as Message.
#pragma once

#include <string>
#include <vector>

#include "mail/message.hpp"

namespace referent::mail {

struct BounceReport {
    std::string action;
    std::string status;
    std::string final_recipient;
    std::string diagnostic_code;
    std::string original_message_id;
    std::vector<std::string> recipients;
    std::string source;
};

BounceReport extract_bounce_report(const Message& message);

}  // namespace referent::mail
