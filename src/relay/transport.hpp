// relay/transport.hpp — how one outbound message leaves the gateway.
//
// Contract: deliver() hands one message to one recipient and says what became of it:
// delivered (the next hop answered 250), temporary (4xx, a timeout, a refused or lost
// connection, a TLS failure: retry later) or permanent (5xx to MAIL, RCPT or the data: never
// retry). `reply` carries the next hop's last reply line or the local error, for the log, the
// queue listing and the delivery-failure notice. Bytes are sent as given; the caller hands pure
// CRLF text (vectors A outbound), and a transport refuses (permanent) bytes that are not.
// Implementations: CurlTransport (smtp:// and smtps://, relay.url) and MaildirTransport
// (relay.maildir); make_transport() picks the configured one. A transport is used by one relay
// worker thread at a time; each worker makes its own (make_transport is thread-safe).
#pragma once

#include <memory>
#include <string>

#include "config/config.hpp"
#include "util/result.hpp"

namespace referent::relay {

struct OutboundMessage {
    std::string id;         // the outgoing item's id (logs)
    std::string mail_from;  // envelope sender; "" = the null sender <>
    std::string rcpt;       // exactly one recipient
    std::string bytes;      // the whole message, CRLF line ends
};

enum class Outcome { delivered, temporary, permanent };
const char* to_string(Outcome o);

struct DeliveryResult {
    Outcome outcome = Outcome::temporary;
    std::string reply;  // e.g. "250 2.0.0 Ok: queued as 4F3A1", "550 5.1.1 <x>: unknown user"
};

class Transport {
public:
    virtual ~Transport() = default;
    virtual DeliveryResult deliver(const OutboundMessage& m) = 0;
};

// The transport of `relay` (url or maildir); a permanent error when the configuration cannot be
// used (password_file unreadable, maildir not creatable).
util::Result<std::unique_ptr<Transport>> make_transport(const config::Relay& relay,
                                                        const std::string& hostname);

}  // namespace referent::relay
