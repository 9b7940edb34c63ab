// The relay's queue: see queue_runner.hpp.
#include "relay/queue_runner.hpp"

#include "relay/retry.hpp"
#include "util/cat.hpp"
#include "util/log.hpp"

namespace referent::relay {

namespace {

// The longest a worker sleeps without looking at the clock again (the injected clock may be
// a test's, which nobody notifies when it moves).
constexpr auto max_nap = std::chrono::seconds(1);
// How often outgoing/ is listed for items committed by another process (referentctl).
constexpr auto rescan_every = std::chrono::seconds(5);
// How long settled items wait for another stage's covering flush before the settling thread
// makes one of its own (QueueDeps::results_flushed_by_spool). Under load the spool writer
// flushes far more often; an idle gateway only keeps its delivered items this much longer.
constexpr auto settle_wait = std::chrono::milliseconds(100);

}  // namespace

QueueRunner::QueueRunner(QueueDeps deps)
    : deps_(std::move(deps)),
      metrics_(deps_.metrics ? *deps_.metrics : own_metrics_),
      delay_(metrics_.histogram("referent_delivery_delay_seconds",
                                "From an outbound item's commit to its delivery.",
                                util::latency_buckets())),
      outgoing_(*deps_.spool) {}

QueueRunner::~QueueRunner() {
    stop();
}

util::Status QueueRunner::start() {
    if (auto r = outgoing_.recover(); !r) return r.error();
    for (const std::string& id : outgoing_.ids()) {
        auto item = outgoing_.item(id);
        if (!item) {
            util::log_warning("relay", util::cat(id, ": ", item.error().message));
            continue;
        }
        schedule(id, item->next_attempt);
    }
    for (std::uint32_t i = 0; i < std::max<std::uint32_t>(1, deps_.relay.workers); ++i)
        threads_.emplace_back([this] { run(); });
    settler_ = std::thread([this] { settle_loop(); });
    return {};
}

void QueueRunner::schedule(const std::string& id, std::chrono::system_clock::time_point when) {
    {
        std::lock_guard lock(mu_);
        if (!known_.insert(id).second) return;
        due_.emplace(when, id);
        stats_.queued = known_.size();
    }
    cv_.notify_one();
}

void QueueRunner::rescan() {
    // `referentctl retry` rewrote some deferred items' next attempt: schedule them again.
    if (outgoing_.take_retry_request()) {
        std::vector<std::string> deferred;
        {
            std::lock_guard lock(mu_);
            deferred.assign(deferred_.begin(), deferred_.end());
        }
        for (const std::string& id : deferred) {
            auto item = outgoing_.item(id);
            if (!item) continue;
            std::lock_guard lock(mu_);
            for (auto it = due_.begin(); it != due_.end(); ++it)
                if (it->second == id) {
                    if (item->next_attempt < it->first) {
                        due_.erase(it);
                        due_.emplace(item->next_attempt, id);
                    }
                    break;
                }
        }
        cv_.notify_all();
    }
    for (const std::string& id : outgoing_.ids()) {
        {
            std::lock_guard lock(mu_);
            if (known_.count(id)) continue;
        }
        if (auto item = outgoing_.item(id)) schedule(id, item->next_attempt);
    }
}

void QueueRunner::add(const std::vector<std::string>& ids) {
    for (const std::string& id : ids) schedule(id, deps_.clock->now());
}

void QueueRunner::run() {
    auto transport = deps_.make_transport();
    if (!transport) {
        util::log_error("relay", util::cat("transport: ", transport.error().message));
        return;
    }
    for (;;) {
        std::string id;
        {
            std::unique_lock lock(mu_);
            for (;;) {
                if (stopping_) return;
                if (!due_.empty() && due_.begin()->first <= deps_.clock->now()) break;
                if (std::chrono::steady_clock::now() - last_scan_ >= rescan_every) {
                    last_scan_ = std::chrono::steady_clock::now();
                    lock.unlock();
                    rescan();
                    lock.lock();
                    continue;
                }
                cv_.wait_for(lock, max_nap);
            }
            id = due_.begin()->second;
            due_.erase(due_.begin());
        }
        attempt(**transport, id);
    }
}

void QueueRunner::attempt(Transport& t, const std::string& id) {
    auto forget = [this, &id] {
        std::lock_guard lock(mu_);
        known_.erase(id);
        stats_.queued = known_.size();
    };
    auto item = outgoing_.item(id);
    auto bytes = outgoing_.bytes(id, 1ull << 31);
    if (!item || !bytes) {
        util::log_warning("relay", util::cat(id, ": unreadable, left for an operator"));
        return forget();
    }
    DeliveryResult r = t.deliver({id, item->mail_from, item->rcpt, *bytes});
    const auto now = deps_.clock->now();
    bool final = r.outcome != Outcome::temporary;
    std::optional<std::chrono::seconds> delay;
    if (!final) {
        const auto age = std::chrono::duration_cast<std::chrono::seconds>(now - item->created);
        delay = next_attempt(deps_.relay, item->attempts + 1, age, *deps_.random);
        if (!delay) {
            final = true;
            r.reply = util::cat(r.reply, " (given up after max_queue_lifetime)");
            r.outcome = Outcome::permanent;
        }
    }
    // No address at info level (STYLE 13): the item id, kind and case say which message it is.
    util::log_info("relay", util::cat(id, ": kind=", item->kind, " case=", item->case_number,
                                      " status=", to_string(r.outcome), " attempts=",
                                      std::to_string(item->attempts + 1), " ", r.reply));
    metrics_
        .counter("referent_deliveries_total",
                 "Delivery attempts by kind and outcome (delivered, temporary, permanent).",
                 {{"kind", item->kind}, {"outcome", to_string(r.outcome)}})
        .inc();
    if (r.outcome == Outcome::delivered)
        delay_.observe(std::chrono::duration<double>(now - item->created).count());
    {
        std::lock_guard lock(mu_);
        stats_.relay_answered = r.outcome != Outcome::temporary;
        stats_.last_reply = r.reply;
        if (final)
            deferred_.erase(id);
        else
            deferred_.insert(id);
        stats_.deferred_items = deferred_.size();
    }
    if (final) {
        {
            std::lock_guard lock(mu_);
            unsettled_.push_back({std::move(*item), std::move(r), true});
        }
        settle_cv_.notify_one();
        return;  // still known: the settling thread forgets it once removed
    }
    item->attempts += 1;
    item->last_error = r.reply;
    item->next_attempt = now + *delay;
    if (auto st = outgoing_.update(*item); !st)
        util::log_warning("relay", util::cat(id, ": ", st.error().message));
    if (deps_.on_results) (void)deps_.on_results({{*item, r, false}});
    {
        std::lock_guard lock(mu_);
        ++stats_.deferred;
        due_.emplace(item->next_attempt, id);
    }
}

bool QueueRunner::settle(std::vector<Settled>& batch) {
    if (deps_.on_results)
        if (util::Status st = deps_.on_results(batch); !st) {
            util::log_warning("relay",
                              util::cat("results of ", std::to_string(batch.size()),
                                        " items not recorded, kept: ", st.error().message));
            return false;
        }
    if (deps_.results_flushed_by_spool) {
        // The ticket is taken after the records were written: a flush begun later covers them.
        // Else the store's log alone, or, if that cannot be synced by itself, a covering flush
        // of our own (which reports the error, if any).
        const std::uint64_t ticket = deps_.spool->flush_ticket();
        if (!deps_.spool->wait_flushed(ticket, settle_wait) &&
            !(deps_.sync_store && deps_.sync_store()))
            if (util::Status st = deps_.spool->flush(); !st) {
                util::log_warning("relay",
                                  util::cat("results of ", std::to_string(batch.size()),
                                            " items not flushed, kept: ", st.error().message));
                return false;  // reported again: the records are idempotent
            }
    }
    std::vector<std::string> ids;
    for (const Settled& s : batch) ids.push_back(s.item.id);
    // No flush: see queue_runner.hpp (a lost removal is a duplicate delivery, never a loss).
    if (auto st = outgoing_.remove(ids, false); !st)
        util::log_warning("relay", util::cat("removing delivered items: ", st.error().message));
    std::lock_guard lock(mu_);
    for (const Settled& s : batch) {
        (s.result.outcome == Outcome::delivered ? stats_.delivered : stats_.failed)++;
        known_.erase(s.item.id);
    }
    stats_.queued = known_.size();
    ++stats_.settled_batches;
    return true;
}

void QueueRunner::settle_loop() {
    std::vector<Settled> batch;
    for (;;) {
        {
            std::unique_lock lock(mu_);
            settle_cv_.wait(lock, [this] { return workers_done_ || !unsettled_.empty(); });
            if (unsettled_.empty()) return;  // and the workers are done
            for (Settled& s : unsettled_) batch.push_back(std::move(s));
            unsettled_.clear();
        }
        if (settle(batch)) {
            batch.clear();
            continue;
        }
        // Not recorded: the items stay in outgoing/ and the results wait for a second try.
        std::unique_lock lock(mu_);
        if (workers_done_) {
            util::log_warning("relay", util::cat(std::to_string(batch.size()),
                                                 " results unrecorded at stop: their items stay "
                                                 "in outgoing/ and go again after restart"));
            return;
        }
        settle_cv_.wait_for(lock, std::chrono::seconds(1));
        for (Settled& s : unsettled_) batch.push_back(std::move(s));
        unsettled_ = std::move(batch);
        batch.clear();
    }
}

void QueueRunner::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    for (auto& th : threads_) th.join();
    threads_.clear();
    {
        std::lock_guard lock(mu_);
        workers_done_ = true;
    }
    settle_cv_.notify_all();
    if (settler_.joinable()) settler_.join();
}

QueueRunner::Stats QueueRunner::stats() const {
    std::lock_guard lock(mu_);
    return stats_;
}

}  // namespace referent::relay
