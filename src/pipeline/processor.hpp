// pipeline/processor.hpp — from a committed message in incoming/ to outbound items in outgoing/.
//
// Contract: process() handles one spool id completely: it reads the message, parses and
// classifies it, lets the case store thread and record it (idempotent on
// "<gateway hostname>/<spool id>"), renders what must go out (forward to the referent,
// acknowledgement and absence notices to the citizen, the referent's rewritten reply), records
// each outbound message in the store, commits the items durably to outgoing/, and only then
// removes the input. A crash anywhere replays safely: the store answers with the first outcome,
// item ids are deterministic, and a delivery already made is not queued again. A message the
// processor cannot handle (an exception, a permanent store error) moves to corrupt/ with the
// reason; a temporary error (database busy or down, disk full) leaves it in incoming/ for a
// later attempt. Nothing is lost, nothing reaches a citizen unverified.
// Threads: start() runs `workers` threads fed by enqueue() (the spool writer calls it after each
// commit) and by a rescan of incoming/ at start and after temporary failures. `on_outgoing` is
// called with the ids of newly committed items (the relay's queue wakes up).
#pragma once

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

namespace referent::pipeline {

struct ProcessorDeps {
    std::shared_ptr<const config::Config> config;
    spool::Spool* spool = nullptr;
    cases::CaseStore* store = nullptr;
    const cases::TokenKeys* keys = nullptr;
    const mail::TemplateSet* templates = nullptr;
    const util::Clock* clock = nullptr;
    std::function<void(const std::vector<std::string>&)> on_outgoing;
};

enum class Result { done, retry_later, quarantined };

class Processor {
public:
    explicit Processor(ProcessorDeps deps);
    ~Processor();
    Processor(const Processor&) = delete;
    Processor& operator=(const Processor&) = delete;

    // One message, on the caller's thread (tests; the workers use it too).
    Result process(const std::string& spool_id);

    // The relay's answer for an item (relay worker threads): the store's delivery row follows;
    // a final failure of mail to a citizen (reply, acknowledgement, notice) tells the referent.
    void delivery_result(const spool::OutgoingItem& item, bool delivered, bool final,
                         const std::string& reply);

    void start(unsigned workers);
    void enqueue(const std::string& spool_id);
    void stop();  // finishes the messages in hand, then joins

    struct Stats {
        std::uint64_t processed = 0, retried = 0, quarantined = 0, items = 0;
    };
    Stats stats() const;

private:
    void run();
    Result handle(const std::string& spool_id);

    ProcessorDeps deps_;
    spool::Outgoing outgoing_;
    const mail::ClassifyConfig classify_;  // from the configuration, once
    const mail::ParseLimits limits_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::string> queue_;
    std::set<std::string> queued_;  // also the ids in hand: never two workers on one id
    bool stopping_ = false;
    std::vector<std::thread> threads_;
    Stats stats_;
};

}  // namespace referent::pipeline
