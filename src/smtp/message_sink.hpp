// smtp/message_sink.hpp — where an accepted message goes once its DATA is complete.
//
// Contract: accept() is asynchronous: it returns at once and calls `done` exactly once, later,
// possibly on another thread, with the outcome. Only CommitOutcome::ok means the message is
// durable; the session answers 250 only then. The production sink is the spool's group commit
// (app/spool_sink); tests use a memory sink.
//
// A large message need not be held in memory: once its DATA passes the session's
// max_data_in_memory, the session asks the sink for a DataSpill (open_spill) and appends the
// rest of the DATA to it as it arrives; the accepted message then carries the spill instead of
// its bytes, and accept() commits what the spill stored. A sink without a spill (the default)
// leaves the session holding the DATA in memory, up to max_message_size.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
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

// Where the DATA of one large message goes as it arrives (a file under the spool's tmp/).
// append() takes the next octets of the message; false means they could not be stored (a
// full or failing disk: the session answers 451 at the end of DATA and stops appending).
// Destroying a spill that was not committed removes what it stored: a transaction that ends
// any other way (refused, client gone, timeout, shutdown) leaves nothing behind. Owned by one
// session; not thread-safe.
class DataSpill {
public:
    virtual ~DataSpill() = default;
    [[nodiscard]] virtual bool append(std::string_view octets) = 0;
};

struct AcceptedMessage {
    Transaction transaction;
    // Unstuffed, exactly as received (CRLF line endings). With a spill: the spill holds the
    // whole message and `data` is empty.
    std::string data;
    std::unique_ptr<DataSpill> spill;
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
    // A spill for the DATA of `transaction` (its recipients are final), or nothing to keep
    // the DATA in memory. Called on the session's thread.
    virtual std::unique_ptr<DataSpill> open_spill(const SessionInfo& session,
                                                  const Transaction& transaction) {
        (void)session;
        (void)transaction;
        return nullptr;
    }
};

}  // namespace referent::smtp
