// spool/spool_writer.hpp — group commit of accepted messages into incoming/.
//
// Contract: commit() is thread-safe and returns at once; `done` is called later, exactly once,
// on the writer thread, with ok only when the message and its envelope are durable in
// incoming/: for each batch the writer writes every message (unless its session already wrote
// it under tmp/ as it arrived: commit() with a MessageFile, which the writer takes over as it
// stands, without copying its bytes again) and envelope under tmp/, makes
// them durable with one syncfs(2) of the spool's file system, renames the .msg files and then
// the .env files (commit markers) into incoming/, and fsyncs incoming/ once. A batch thus
// costs two flushes whatever its size: concurrent sessions share them. (A batch of one message
// fsyncs its two files instead of the file system: Options::fsync_each_up_to.) (syncfs reports
// writeback errors since Linux 5.8.) On any failure (write, sync, rename, close) the affected
// messages get a temporary Error and nothing of them is left in tmp/ or incoming/ (their
// entries are unlinked), so a client that saw 451 may retry without leaving a half-commit.
// An envelope that fails validate_envelope() gets a permanent Error and nothing is written (a
// MessageFile handed over is removed).
// The writer never blocks the caller; stop() drains pending commits, then joins.
//
// Sequencing: the `done` callbacks of one batch run on the writer thread, in submission order,
// after that batch's directory fsync; the next batch starts only when they have returned, so
// `done` must be quick (post to an io_context, set a promise) and must not call stop().
// commit() after stop() does not queue: it calls `done` at once, on the caller's thread, with a
// temporary Error. stop() is for the owner (not concurrent with itself); the destructor calls it.
// Logs: debug per committed message (it carries no personal data, but info would flood), a
// warning per failed message with the system error.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "spool/envelope.hpp"
#include "spool/message_file.hpp"
#include "spool/spool.hpp"
#include "util/result.hpp"

namespace referent::spool {

struct WriterStats {
    std::uint64_t messages = 0;  // committed successfully
    std::uint64_t failed = 0;
    std::uint64_t batches = 0;
    std::uint64_t fsyncs = 0;  // flushes issued: syncfs (or a file fsync each) and directory fsync
};

class SpoolWriter {
public:
    using Done = std::function<void(util::Status)>;

    struct Options {
        std::size_t max_batch = 256;  // messages per group commit
        // Gathering under load: when the previous batch held more than one message (sessions
        // are committing concurrently), a batch waits for more as long as they keep coming
        // less than `gather_gap` apart, `gather_max` at most: the sessions the previous batch
        // released come back within a few milliseconds, and one batch for all of them costs
        // two flushes instead of two per half. A lone session never waits (its previous batch
        // held one message), so the light-load transaction time is unchanged.
        std::chrono::microseconds gather_gap{5000};
        std::chrono::microseconds gather_max{25000};
        // A batch of at most this many messages fsyncs each of its files rather than the whole
        // file system (three flushes for a lone message instead of two, but none of them
        // waits for other programs' writes): the light-load transaction time.
        std::size_t fsync_each_up_to = 1;
    };

    SpoolWriter(Spool& spool, Options options);
    ~SpoolWriter();  // stop()s
    SpoolWriter(const SpoolWriter&) = delete;
    SpoolWriter& operator=(const SpoolWriter&) = delete;

    // `envelope.id` must be a fresh id from Spool::new_id().
    void commit(Envelope envelope, std::string data, Done done);
    // The same, with `prefix` (a trace header) written before `data`: the caller need not copy
    // a message of up to max_message_size just to prepend a line.
    void commit(Envelope envelope, std::string prefix, std::string data, Done done);
    // The same for a message already written under tmp/ (prefix included): `file.id()` must
    // be `envelope.id`. Whatever the outcome, the file is the writer's to rename or remove.
    void commit(Envelope envelope, MessageFile file, Done done);

    void stop();
    WriterStats stats() const;

private:
    struct Request {
        Envelope envelope;
        std::string prefix;
        std::string data;
        Done done;
        std::optional<MessageFile> file;  // instead of prefix and data
    };

    void enqueue(Request request);
    void run();
    void write_batch(std::deque<Request>& batch);
    void finish_batch(std::deque<Request>& batch, std::vector<util::Status>& outcomes,
                      std::uint64_t fsyncs);

    Spool& spool_;
    Options options_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Request> pending_;
    bool stopping_ = false;
    WriterStats stats_;
    int incoming_fd_ = -1;  // kept open: one directory fsync per batch, no open/close per batch
    std::size_t last_batch_ = 0;  // messages in the previous batch (writer thread only)
    std::thread thread_;
};

}  // namespace referent::spool
