// relay/queue_runner.hpp — the relay's workers: due items of outgoing/ out through a Transport.
//
// Contract: start() loads every committed item of outgoing/ (after Outgoing::recover()) into an
// in-memory schedule by next attempt, then runs `relay.workers` threads, each with its own
// Transport (make_transport), and one settling thread. add() schedules newly committed items
// at once. One item is in one worker's hands at a time. After each attempt:
//  - delivered or permanent (final): the item waits to be settled. The settling thread takes
//    every final result waiting, reports them in one call of on_results (the store records
//    them in one transaction), then removes their items without a flush: a removal lost in a
//    crash or a power cut only delivers the item again (a duplicate, never a loss; the record
//    is idempotent), and the next covering flush (spool.hpp) makes it durable. When the
//    records themselves wait for a covering flush (results_flushed_by_spool), the items go
//    only after one has ended that began after the records were written: the next one of the
//    spool writer or the processor (under load, some tens of milliseconds: no flush of the
//    relay's own), or, when none comes within settle_wait, one of its own. So a removal never
//    outlives its record: a delivery failure is never forgotten. When on_results fails (the
//    store is down) the items stay, and are reported again a second later;
//  - temporary: the item's attempts, next attempt (retry.hpp: relay.retry with jitter) and last
//    error are written back durably and reported (final = false); past max_queue_lifetime it
//    is final, as permanent.
// Every few seconds outgoing/ is listed again for items committed by another process
// (referentctl assign), and after `referentctl retry` (Outgoing::request_retry) the deferred
// items whose next attempt was brought forward are scheduled again. Results are reported before
// their items are removed, so a crash between them delivers again rather than losing the record
// (the store's delivery row is idempotent). A relay that is down only grows the queue. stop() lets
// attempts in flight finish, settles what it can, then joins. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "relay/transport.hpp"
#include "spool/outgoing.hpp"
#include "util/clock.hpp"
#include "util/metrics.hpp"
#include "util/random.hpp"

namespace referent::relay {

struct Settled {  // one attempt's outcome, as reported
    spool::OutgoingItem item;
    DeliveryResult result;
    bool final = false;
};

struct QueueDeps {
    spool::Spool* spool = nullptr;
    config::Relay relay;
    const util::Clock* clock = nullptr;
    util::Random* random = nullptr;
    std::function<util::Result<std::unique_ptr<Transport>>()> make_transport;
    // Records the results (in one store transaction); an error keeps final items for later.
    std::function<util::Status(const std::vector<Settled>&)> on_results;
    // on_results' records are on disk only after a covering flush of the spool (SQLite with
    // sql::Durability::caller): settled items are then removed only after one.
    bool results_flushed_by_spool = false;
    // For such a store: makes its commits durable by themselves (an fdatasync of SQLite's
    // log). When no covering flush comes within settle_wait, the settling thread calls it
    // rather than flushing the whole file system (the removals need only the records on
    // disk). Empty: a covering flush of its own.
    std::function<util::Status()> sync_store;
    // referent_deliveries_total and referent_delivery_delay_seconds; null: a private registry.
    util::Registry* metrics = nullptr;
};

class QueueRunner {
public:
    explicit QueueRunner(QueueDeps deps);
    ~QueueRunner();
    QueueRunner(const QueueRunner&) = delete;
    QueueRunner& operator=(const QueueRunner&) = delete;

    util::Status start();
    void add(const std::vector<std::string>& ids);
    void stop();

    struct Stats {
        std::uint64_t delivered = 0, deferred = 0, failed = 0;
        std::size_t queued = 0;
        std::uint64_t settled_batches = 0;
        std::size_t deferred_items = 0;  // waiting after a temporary failure
        // The last attempt: did the next hop answer (delivered or permanent)? /healthz.
        bool relay_answered = true;
        std::string last_reply;
    };
    Stats stats() const;

private:
    void run();
    void attempt(Transport& t, const std::string& id);
    void schedule(const std::string& id, std::chrono::system_clock::time_point when);
    void rescan();  // items another process committed (assign); retry requests (retry)
    void settle_loop();
    bool settle(std::vector<Settled>& batch);  // false: reporting failed, items kept

    util::Registry own_metrics_;  // when deps.metrics is null
    QueueDeps deps_;
    util::Registry& metrics_;
    util::Histogram& delay_;
    spool::Outgoing outgoing_;
    std::set<std::string> deferred_;  // under mu_: ids waiting after a temporary failure
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::multimap<std::chrono::system_clock::time_point, std::string> due_;
    std::set<std::string> known_;  // scheduled or in hand
    bool stopping_ = false;
    std::chrono::steady_clock::time_point last_scan_ = std::chrono::steady_clock::now();
    std::vector<std::thread> threads_;
    std::vector<Settled> unsettled_;  // final results waiting for the settling thread
    std::condition_variable settle_cv_;
    bool workers_done_ = false;  // under mu_: the settling thread drains and ends
    std::thread settler_;
    Stats stats_;
};

}  // namespace referent::relay
