// smtp/message_sink.hpp — where an accepted message goes once its DATA is complete.
//
// Contract: accept() is asynchronous: it returns at once and calls `done` exactly once, later,
// possibly on another thread, with the outcome. Only CommitOutcome::ok means the message is
// durable; the session answers 250 only then. The production sink is the spool's group commit
// (app/spool_sink); tests use a memory sink.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "smtp/command.hpp"

namespace referent::smtp {

struct Transaction {
    std::string helo;
    bool esmtp = false;
    Address from;
    std::vector<Address> recipients;  // accepted recipients, in order
    Body body = Body::unspecified;
    bool smtputf8 = false;
    bool tls = false;
    std::chrono::steady_clock::time_point started{};  // MAIL accepted (transaction time)
};

struct AcceptedMessage {
    Transaction transaction;
    std::string data;  // unstuffed, exactly as received (CRLF line endings)
};

// Who delivered the message: known to the connection, not to the protocol session.
struct SessionInfo {
    std::string client_ip;
    std::uint16_t client_port = 0;
    std::string listener_role;  // "public" | "internal"
    bool lmtp = false;
};

struct CommitOutcome {
    enum class Status { ok, temporary, permanent };
    Status status = Status::ok;
    std::string queue_id;  // set when ok
};

class MessageSink {
public:
    virtual ~MessageSink() = default;
    virtual void accept(const SessionInfo& session, AcceptedMessage message,
                        std::function<void(CommitOutcome)> done) = 0;
};

}  // namespace referent::smtp
