// spool/outgoing.hpp — outbound items: final bytes for one recipient, waiting for the relay.
//
// Layout in <spool>/outgoing/: one file per item, <id>.item ("referent-outgoing 2"): the header
// format_outgoing() writes (versioned "key: value" lines), one empty line, then the message
// bytes verbatim (CRLF, any content, any size). One file, because on a file system with heavy
// create/delete churn each new inode is the expensive part of the flow. The header, blank line
// included, stays within 64 KiB: item() reads only that much, never the body.
// commit(): every fresh item is written under tmp/, one syncfs for the whole batch, each renamed
// into outgoing/ (the rename is the commit marker), one fsync of outgoing/; durable when it
// returns ok. Item ids are chosen by the caller and are deterministic ("<spool id>-<n>"), so
// committing after a crash and replay finds the items already there and writes nothing twice.
// update() keeps the retry state (attempts, next attempt, last error) in a small sidecar
// <id>.retry (tmp/ + fsync + rename + fsync outgoing/) that item() applies over the header, so a
// retry never rewrites the body. remove() unlinks each .item (the marker) then its .retry, one
// fsync of outgoing/ for the batch (or none: the relay's removals of settled items). recover(), run
// once at start before any writer: a .retry without its .item is removed; pairs left by the
// previous layout (<id>.msg + <id>.out, "referent-outgoing 1") are rewritten as one .item (tmp/ +
// fsync + rename + fsync outgoing/) before the pair is unlinked; a lone .msg (a half commit of that
// layout) is removed. tmp/ leftovers are the Spool's (Spool::recover()). Errors are typed Results:
// I/O temporary, values that cannot be written or read back permanent. Thread-safety: methods may
// run concurrently on different ids; one id is handled by one thread at a time (the processor
// writes it, then one relay worker owns it).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
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

    struct CommitOptions {
        // A covering flush (spool.hpp) even when nothing new is written, for a caller whose
        // store commit relies on it (SQLite with sql::Durability::caller).
        bool flush_always = false;
        // Share the flushes of others: for the files' bytes before their renames, wait this
        // long for a covering flush begun after they were written instead of flushing; only
        // while others flush (Spool::wait_flushed). 0: never wait. The renames are then made
        // durable by an fsync of outgoing/, not by waiting for a later flush: a directory fsync
        // costs less than a millisecond, a wait for the next covering flush tens of them, and a
        // worker of the processor waits out both before it takes its next batch.
        std::chrono::milliseconds share_wait{0};
        // When nobody else is flushing, a commit of at most this many new items fsyncs each
        // file rather than the whole file system (a lone message at light load).
        std::size_t fsync_each_up_to = 0;
        // With flush_always: makes the store's commits durable by themselves (an fdatasync of
        // SQLite's log), called before the renames. Only then may such a commit fsync its
        // files one by one; empty: it always makes or shares a covering flush.
        std::function<util::Status()> sync_store{};
    };
    // Durable when it returns ok; items whose id is already committed are left as they are
    // (and made durable all the same: an earlier call may have failed after their renames).
    util::Status commit(const std::vector<OutgoingMessage>& messages, CommitOptions options);
    util::Status commit(const std::vector<OutgoingMessage>& messages) {
        return commit(messages, CommitOptions{});
    }
    std::vector<std::string> ids() const;  // sorted
    // The header with the retry state applied; reads at most 64 KiB of the file.
    util::Result<OutgoingItem> item(const std::string& id) const;
    // The message bytes after the header; a body longer than `limit` is an error.
    util::Result<std::string> bytes(const std::string& id, std::size_t limit) const;
    // Records attempts, next_attempt and last_error (the other fields never change).
    util::Status update(const OutgoingItem& item);
    // Drops the items (.item, then .retry), then, with `sync_dir`, one fsync of outgoing/ for
    // all of them. Without it the removal is durable at the next covering flush: a crash or a
    // power cut before that brings an item back, to be delivered again (a duplicate, as with
    // Postfix, never a loss). One that cannot be removed does not keep the others; the first
    // error is returned.
    util::Status remove(const std::vector<std::string>& ids, bool sync_dir = true);
    util::Status remove(const std::string& id) { return remove(std::vector{id}); }
    // One fsync of outgoing/: the names of items committed by an earlier call whose own fsync
    // failed are durable when it returns ok.
    util::Status sync();
    // Upgrades the previous layout, removes leftovers; returns how many items are waiting.
    util::Result<std::size_t> recover();

    // `referentctl retry` → the running relay: a marker file (outgoing/.retry-now, never an
    // item name) asks it to read the deferred items' next attempt again.
    util::Status request_retry();
    bool take_retry_request();  // true once per request (the marker is removed)

private:
    Spool& spool_;
};

}  // namespace referent::spool
