// pipeline/deadlines.hpp — reminders before a case's due date, escalations after it.
//
// Contract: check_deadlines() makes one pass over the open cases no referent has answered yet
// (no outbound reply), due by the next working day (calendar.hpp, organisation.holidays):
//  - due today or on the next working day: a `reminder` to whoever reads the case's mail today
//    (the referent, the delegate covering an absence, or the service's fallback address);
//  - past its due date: an `escalation` to the service's manager (none configured: skipped).
// Each is recorded as an outbound message keyed "deadline/<case>/<due date>/<kind>/<rcpt>", so
// it goes once per case and due date, across restarts (a reopened case, with its new due date,
// may be reminded again). All of one pass share one store group and one outgoing/ commit; the
// new item ids go to deps.on_outgoing. Returns how many messages were queued.
// Scheduler runs scheduled_pass() at start and then every ops.deadline_check on its own thread.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "pipeline/processor.hpp"

namespace referent::pipeline {

util::Result<std::size_t> check_deadlines(const ProcessorDeps& deps);

// One pass of the scheduler: the deadlines, then the retention purge (CaseStore::purge) once
// per local day (`last_purge`, the day it last ran, is updated; at start it is empty, so a
// restart purges again: harmless, the purge is idempotent).
void scheduled_pass(const ProcessorDeps& deps, std::optional<cases::Day>& last_purge);

class Scheduler {
public:
    // `deps` gives the current dependencies at each pass (they change at a live reload).
    explicit Scheduler(std::function<ProcessorDeps()> deps) : deps_(std::move(deps)) {}
    ~Scheduler() { stop(); }
    Scheduler(const Scheduler&) = delete;
    Scheduler& operator=(const Scheduler&) = delete;

    void start();
    void stop();

private:
    std::function<ProcessorDeps()> deps_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace referent::pipeline
