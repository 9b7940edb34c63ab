// relay/queue_runner.hpp — the relay's workers: due items of outgoing/ out through a Transport.
//
// Contract: start() loads every committed item of outgoing/ (after Outgoing::recover()) into an
// in-memory schedule by next attempt, then runs `relay.workers` threads, each with its own
// Transport (make_transport). add() schedules newly committed items at once. One item is in
// one worker's hands at a time. After each attempt:
//  - delivered: on_result(item, result, final = true), then the item is removed;
//  - temporary: the item's attempts, next attempt (retry.hpp: relay.retry with jitter) and last
//    error are written back durably; past max_queue_lifetime it is final, as permanent;
//  - permanent: on_result(final = true), then the item is removed.
// Every few seconds outgoing/ is listed again for items committed by another process
// (referentctl assign). on_result runs before removal, so a crash between them delivers again
// rather than losing the record (the store's delivery row is idempotent). A relay that is down only
// grows the queue. stop() lets attempts in flight finish, then joins. Thread-safe.
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
#include "util/random.hpp"

namespace referent::relay {

struct QueueDeps {
    spool::Spool* spool = nullptr;
    config::Relay relay;
    const util::Clock* clock = nullptr;
    util::Random* random = nullptr;
    std::function<util::Result<std::unique_ptr<Transport>>()> make_transport;
    std::function<void(const spool::OutgoingItem&, const DeliveryResult&, bool final)> on_result;
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
    };
    Stats stats() const;

private:
    void run();
    void attempt(Transport& t, const std::string& id);
    void schedule(const std::string& id, std::chrono::system_clock::time_point when);
    void rescan();  // items another process committed (referentctl assign)

    QueueDeps deps_;
    spool::Outgoing outgoing_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::multimap<std::chrono::system_clock::time_point, std::string> due_;
    std::set<std::string> known_;  // scheduled or in hand
    bool stopping_ = false;
    std::chrono::steady_clock::time_point last_scan_ = std::chrono::steady_clock::now();
    std::vector<std::thread> threads_;
    Stats stats_;
};

}  // namespace referent::relay
