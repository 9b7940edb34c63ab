// spool/outgoing.hpp — outbound items: final bytes for one recipient, waiting for the relay.
//
// Layout in <spool>/outgoing/: <id>.msg (the bytes, CRLF) and <id>.out (the item, a versioned
// "key: value" text, first line "referent-outgoing 1"), written like incoming/: everything
// under tmp/, one syncfs for the whole batch, the .msg renamed in first, the .out (commit
// marker) last, one fsync of outgoing/. Item ids are chosen by the caller and are deterministic
// ("<spool id>-<n>"), so committing after a crash and replay finds the items already there and
// writes nothing twice. update() rewrites an .out atomically (tmp/ + fsync + rename) for the retry
// state; remove() drops the .out then the .msg, for a batch of items at once. recover(): an .msg
// without .out is a half commit: removed. Thread-safety: methods may run concurrently on different
// ids; one id is handled by one thread at a time (the processor writes it, then one relay worker
// owns it).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "spool/spool.hpp"
#include "util/result.hpp"

namespace referent::spool {

struct OutgoingItem {
    std::string id;
    std::string source;  // the incoming spool id it was made from
    std::string kind;    // forward, reply, acknowledgement, notice…
    std::string case_number;
    std::int64_t delivery = 0;  // the store's delivery row
    std::string mail_from;      // "" = null sender
    std::string rcpt;
    std::chrono::system_clock::time_point created{};
    std::uint32_t attempts = 0;
    std::chrono::system_clock::time_point next_attempt{};
    std::string last_error;

    friend bool operator==(const OutgoingItem&, const OutgoingItem&) = default;
};

std::string format_outgoing(const OutgoingItem& item);
util::Result<OutgoingItem> parse_outgoing(std::string_view text);

struct OutgoingMessage {
    OutgoingItem item;
    std::string bytes;
};

class Outgoing {
public:
    explicit Outgoing(Spool& spool) : spool_(spool) {}

    // Durable when it returns ok; items whose id is already committed are left as they are.
    util::Status commit(const std::vector<OutgoingMessage>& messages);
    std::vector<std::string> ids() const;  // sorted
    util::Result<OutgoingItem> item(const std::string& id) const;
    util::Result<std::string> bytes(const std::string& id, std::size_t limit) const;
    util::Status update(const OutgoingItem& item);
    // Drops the items (.out, then .msg), then one fsync of outgoing/ for all of them.
    util::Status remove(const std::vector<std::string>& ids);
    util::Status remove(const std::string& id) { return remove(std::vector{id}); }
    // Half commits (.msg without .out) removed; returns how many items are waiting.
    util::Result<std::size_t> recover();

private:
    Spool& spool_;
};

}  // namespace referent::spool
