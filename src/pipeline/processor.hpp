// pipeline/processor.hpp — from a committed message in incoming/ to outbound items in outgoing/.
//
// Contract: process() handles spool ids completely: it reads each message, parses and
// classifies it, lets the case store thread and record it (idempotent on
// "<gateway hostname>/<spool id>"), renders what must go out (forward to the referent,
// acknowledgement and absence notices to the citizen, the referent's rewritten reply), records
// each outbound message in the store, commits the items durably to outgoing/, and only then
// removes the input. A crash anywhere replays safely: the store answers with the first outcome,
// item ids are deterministic, and a delivery already made is not queued again. A message the
// processor cannot handle (an exception, a permanent store error) moves to corrupt/ with the
// reason; a temporary error (database busy or down, disk full) leaves it in incoming/ for a
// later attempt. Nothing is lost, nothing reaches a citizen unverified.
// Batches (group commit): a worker takes up to gateway.processor_batch queued ids at once. It
// reads and parses them first, then decides all of them inside one store group (one database
// commit, each store call a savepoint), commits all their items to outgoing/ at once (a
// covering flush, spool.hpp, shared with the spool writer under load, which also makes the
// store's commit durable, ProcessorDeps::store_flushed_by_spool; then the renames and one fsync
// of outgoing/), and only then removes the inputs, without a flush of their own (a removal
// lost in a crash replays the message, which the store answers with its first outcome): at
// most two flushes for the batch. The batch
// is only what is waiting: an idle gateway handles a lone message at once; and it stops at
// gateway.limits.max_message_size octets of input (one message at least), so a worker holds
// about one maximal message at a time whatever the batch size.
// A failed group commit leaves every message of the batch for later; a failed outgoing/ commit
// is retried message by message, so one bad message cannot hold the others back.
// Threads: start() runs `workers` threads fed by enqueue() (the spool writer calls it after each
// commit) and by a rescan of incoming/: at start, when idle for deps.retry_pause, and that long
// after a temporary failure left messages there, however busy the queue (a batch the store
// could not take during a database restart is not kept waiting for a lull in the load).
// Order: batches are decided in the order they were taken from the queue (the order the spool
// writer committed them), whichever worker finishes reading and parsing first. A citizen's
// first message then opens the case and gets the acknowledgement even when the correction
// sent seconds later is parsed first (the store would join the two in either order, by the
// references one names, but the case would start at the correction). One left for later by a
// temporary store failure is decided after the ones behind it.
// `on_outgoing` is called with the ids of newly committed items (the relay's queue wakes up).
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cases/case_store.hpp"
#include "cases/token.hpp"
#include "config/config.hpp"
#include "mail/classify.hpp"
#include "mail/template.hpp"
#include "spool/outgoing.hpp"
#include "spool/spool.hpp"
#include "util/clock.hpp"
#include "util/metrics.hpp"

namespace referent::pipeline {

struct ProcessorDeps {
    std::shared_ptr<const config::Config> config;
    spool::Spool* spool = nullptr;
    cases::CaseStore* store = nullptr;
    const cases::TokenKeys* keys = nullptr;
    const mail::TemplateSet* templates = nullptr;
    const util::Clock* clock = nullptr;
    std::function<void(const std::vector<std::string>&)> on_outgoing;
    // The store's commits are on disk only after a covering flush of the spool (SQLite with
    // sql::Durability::caller, on the spool's file system): every batch then ends with one,
    // also when it wrote no new item, before its inputs are removed.
    bool store_flushed_by_spool = false;
    // For such a store: makes its commits durable by themselves (an fdatasync of SQLite's log).
    // Then a lone message when nobody else flushes fsyncs that log and its own items rather
    // than the whole file system (a syncfs also waits for other programs' writes, and the
    // next SMTP transaction's flushes wait behind it). Empty: a covering flush every batch.
    std::function<util::Status()> sync_store;
    // Counters and histograms (referent_messages_processed_total, referent_processing_seconds,
    // referent_delivery_failures_total); null: a private registry nobody reads.
    util::Registry* metrics = nullptr;
    // How long a message left in incoming/ by a temporary failure waits for its next try.
    std::chrono::milliseconds retry_pause{5000};
    // Tests: called on the batch's thread once it is read and parsed, before it waits for its
    // turn at the store (a seam to hold one batch back).
    std::function<void(const std::vector<std::string>& spool_ids)> after_prepare;
};

enum class Result { done, retry_later, quarantined };

class Processor {
public:
    explicit Processor(ProcessorDeps deps);
    ~Processor();
    Processor(const Processor&) = delete;
    Processor& operator=(const Processor&) = delete;

    // One batch, on the caller's thread (tests; the workers use it too): a result per id.
    std::vector<Result> process(const std::vector<std::string>& spool_ids);
    Result process(const std::string& spool_id) { return process(std::vector{spool_id}).front(); }

    // The relay's answers (its threads), recorded in one store group: the deliveries' rows
    // follow; a final failure of mail to a citizen (reply, acknowledgement, notice) tells the
    // referent. An error: nothing was recorded (the relay keeps the items and reports again).
    struct DeliveryReport {
        const spool::OutgoingItem* item = nullptr;
        bool delivered = false;
        bool final = false;
        std::string reply;
    };
    util::Status delivery_results(const std::vector<DeliveryReport>& reports);

    // Live reload: batches begun from now on use this configuration, templates and keys (the
    // batches in hand finish with theirs). The caller keeps the objects alive for good.
    void reconfigure(std::shared_ptr<const config::Config> config,
                     const mail::TemplateSet* templates, const cases::TokenKeys* keys);
    ProcessorDeps deps() const;  // the current ones (the scheduler's)

    void start(unsigned workers);
    void enqueue(const std::string& spool_id);
    void stop();  // finishes the messages in hand, then joins

    struct Stats {
        std::uint64_t processed = 0, retried = 0, quarantined = 0, items = 0;
        std::uint64_t batches = 0;  // store groups committed
    };
    Stats stats() const;

private:
    struct Work;  // one message of a batch (processor.cpp)
    // What one batch works with, fixed for the batch (live reload swaps the whole).
    struct Settings {
        ProcessorDeps deps;
        mail::ClassifyConfig classify;
        mail::ParseLimits limits;
    };
    std::shared_ptr<const Settings> settings() const;
    void run();
    std::vector<Result> process(const std::vector<std::string>& spool_ids, std::uint64_t ticket);
    void wait_turn(std::uint64_t ticket);
    // Once per ticket: waits for its turn if the batch never took it (an exception), then
    // passes it on.
    void end_turn(std::uint64_t ticket);
    void rescan();  // queues every committed message of incoming/ that nobody holds
    void prepare(const Settings& s, Work& w);  // read, parse, classify: no store
    void decide(const Settings& s, Work& w);   // the flow, inside the store group
    void finish(std::vector<Work>& batch);
    // One report inside the group; notice items to commit are appended to `items`.
    util::Status delivery_result(const Settings& s, const DeliveryReport& r,
                                 std::vector<spool::OutgoingMessage>& items, bool& found_waiting);

    util::Registry own_metrics_;  // when deps.metrics is null
    ProcessorDeps deps_;          // the parts no reload changes: spool, store, clock, callbacks
    util::Registry& metrics_;
    util::Histogram& processing_;
    spool::Outgoing outgoing_;
    const std::size_t batch_;                   // gateway.processor_batch (a restart changes it)
    const std::uint64_t batch_bytes_;           // limits.max_message_size at start: input per batch
    std::shared_ptr<const Settings> settings_;  // under mu_
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::string> queue_;
    std::set<std::string> queued_;  // also the ids in hand: never two workers on one id
    // The store's order (under mu_): batches taken so far, and the one whose group runs next.
    std::uint64_t tickets_ = 0;
    std::uint64_t turn_ = 0;
    std::condition_variable turn_cv_;
    bool stopping_ = false;
    bool left_for_later_ = false;  // a temporary failure since the last rescan
    std::chrono::steady_clock::time_point last_rescan_ = std::chrono::steady_clock::now();
    std::vector<std::thread> threads_;
    Stats stats_;
};

}  // namespace referent::pipeline
