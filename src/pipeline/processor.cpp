// The processor: see processor.hpp.
#include "pipeline/processor.hpp"

#include <exception>
#include <filesystem>

#include "mail/classify.hpp"
#include "pipeline/flow.hpp"
#include "util/cat.hpp"
#include "util/log.hpp"

namespace referent::pipeline {

namespace {

// How long a batch waits for another stage's covering flush (Outgoing::CommitOptions).
constexpr std::chrono::milliseconds share_wait{50};

// The enhanced status code of an SMTP reply ("550 5.1.1 …" → "5.1.1"), else "5.0.0".
std::string status_of(std::string_view reply) {
    if (reply.size() >= 9 && reply[3] == ' ' && reply[5] == '.' &&
        (reply[4] == '4' || reply[4] == '5')) {
        const std::size_t end = reply.find(' ', 4);
        return std::string(reply.substr(4, end == std::string_view::npos ? end : end - 4));
    }
    return "5.0.0";
}

}  // namespace

struct Processor::Work {
    Inbound in;
    Result result = Result::retry_later;
    bool ready = false;                         // prepared: the flow may decide it
    std::string why;                            // the quarantine reason, or the temporary error
    std::vector<spool::OutgoingMessage> items;  // moved to outgoing/ by finish()
    std::vector<std::string> item_ids;
    bool found_waiting = false;  // the flow's Flow::found_waiting
};

Processor::Processor(ProcessorDeps deps)
    : deps_(std::move(deps)),
      metrics_(deps_.metrics ? *deps_.metrics : own_metrics_),
      processing_(metrics_.histogram("referent_processing_seconds",
                                     "Time to decide a batch of received messages and commit "
                                     "what they make, per message of the batch.",
                                     util::latency_buckets())),
      outgoing_(*deps_.spool),
      batch_(deps_.config->gateway.processor_batch),
      batch_bytes_(deps_.config->gateway.limits.max_message_size),
      settings_(std::make_shared<const Settings>(
          Settings{deps_, mail::classify_config(*deps_.config),
                   mail::parse_limits(deps_.config->gateway.limits)})) {}

std::shared_ptr<const Processor::Settings> Processor::settings() const {
    std::lock_guard lock(mu_);
    return settings_;
}

void Processor::reconfigure(std::shared_ptr<const config::Config> config,
                            const mail::TemplateSet* templates, const cases::TokenKeys* keys) {
    ProcessorDeps d = deps_;
    d.config = std::move(config);
    d.templates = templates;
    d.keys = keys;
    auto s = std::make_shared<const Settings>(Settings{
        d, mail::classify_config(*d.config), mail::parse_limits(d.config->gateway.limits)});
    std::lock_guard lock(mu_);
    settings_ = std::move(s);
}

ProcessorDeps Processor::deps() const {
    return settings()->deps;
}

Processor::~Processor() {
    stop();
}

void Processor::prepare(const Settings& s, Work& w) {
    const config::Config& c = *s.deps.config;
    Inbound& in = w.in;
    in.key = util::cat(c.gateway.hostname, "/", in.spool_id);
    auto fail = [&w](const util::Error& e) {
        w.result = e.is_temporary() ? Result::retry_later : Result::quarantined;
        w.why = e.message;
    };
    auto env = deps_.spool->read_envelope(in.spool_id);
    if (!env) return fail(env.error());
    in.envelope = std::move(env).value();
    // The listener bounded the size already; the extra room is the Received header we added.
    auto raw =
        deps_.spool->read_message(in.spool_id, c.gateway.limits.max_message_size + (64 << 10));
    if (!raw) return fail(raw.error());
    in.raw = std::move(raw).value();
    auto parsed = mail::parse(in.raw, s.limits);
    if (parsed) {
        in.message = std::move(parsed).value();
        mail::EnvelopeInfo e;
        e.mail_from = in.envelope.mail_from;
        e.recipients = in.envelope.recipients;
        e.role = in.envelope.role == "internal" ? mail::ListenerRole::internal
                                                : mail::ListenerRole::public_;
        in.cls = mail::classify(*in.message, e, s.classify);
    } else {
        in.refusal = parsed.refusal().reason;
        in.cls.reason = util::cat("unparsed: ", in.refusal);
    }
    w.ready = true;
}

void Processor::decide(const Settings& s, Work& w) {
    Flow flow(s.deps, w.in);
    util::Status st = w.in.envelope.role == "internal" ? flow.agent() : flow.citizen();
    if (!st) {
        w.result = st.error().is_temporary() ? Result::retry_later : Result::quarantined;
        w.why = st.error().message;
        return;
    }
    w.result = Result::done;
    w.found_waiting = flow.found_waiting;
    w.items = std::move(flow.items);
    for (const auto& m : w.items) w.item_ids.push_back(m.item.id);
}

// After the group: items to outgoing/, inputs removed or quarantined, the relay woken.
void Processor::finish(std::vector<Work>& batch) {
    std::vector<spool::OutgoingMessage> all;  // moved out of the works, in batch order
    for (Work& w : batch)
        if (w.result == Result::done)
            for (auto& m : w.items) all.push_back(std::move(m));
    // Under load the spool writer makes a covering flush every few tens of milliseconds: the
    // batch shares them rather than flushing itself (spool.hpp), and grows meanwhile.
    // A lone message when nobody else flushes fsyncs its own items (a forward and an
    // acknowledgement) rather than the file system, and the store's log when its commit waits
    // for the spool's flush (ProcessorDeps::sync_store).
    const bool per_file = !deps_.store_flushed_by_spool || deps_.sync_store;
    const spool::Outgoing::CommitOptions flush{deps_.store_flushed_by_spool, share_wait,
                                               per_file ? 2u : 0u, deps_.sync_store};
    if (util::Status st = outgoing_.commit(all, flush); !st) {
        // Find the message at fault, each alone (their store records are durable already, so
        // this only writes items again).
        util::log_warning("pipeline", util::cat("batch: ", st.error().message, "; one by one"));
        auto next = all.begin();
        for (Work& w : batch) {
            if (w.result != Result::done) continue;
            const auto end = next + static_cast<std::ptrdiff_t>(w.items.size());
            const std::vector<spool::OutgoingMessage> mine(std::make_move_iterator(next),
                                                           std::make_move_iterator(end));
            next = end;
            if (util::Status one = outgoing_.commit(mine, flush); !one) {
                w.result = one.error().is_temporary() ? Result::retry_later : Result::quarantined;
                w.why = one.error().message;
            }
        }
    }
    // Items a replay found waiting may come from a try whose fsync of outgoing/ failed after
    // the renames: their inputs go only once outgoing/ is synced again.
    bool found_waiting = false;
    for (const Work& w : batch)
        found_waiting = found_waiting || (w.result == Result::done && w.found_waiting);
    if (found_waiting)
        if (util::Status st = outgoing_.sync(); !st)
            for (Work& w : batch)
                if (w.result == Result::done && w.found_waiting)
                    w.result = Result::retry_later, w.why = st.error().message;
    std::vector<std::string> ids, inputs;
    for (Work& w : batch) {
        const std::string& id = w.in.spool_id;
        if (w.result == Result::done) {
            ids.insert(ids.end(), w.item_ids.begin(), w.item_ids.end());
            inputs.push_back(id);
            continue;
        }
        util::log_warning("pipeline", util::cat(id, ": ", w.why));
        if (w.result == Result::quarantined)
            if (auto q = deps_.spool->quarantine(id, w.why); !q) w.result = Result::retry_later;
    }
    // Every input removed here has its items and its store records on disk (the commit above
    // ended with a covering flush, or the store's commit is durable by itself), so the removal
    // needs no flush: left behind by a crash or a power cut, an input is only replayed, and the
    // store answers with its first outcome. The next covering flush makes the removal durable.
    if (auto rm = deps_.spool->remove_incoming(inputs, false); !rm)
        util::log_warning("pipeline", util::cat("removing processed input: ", rm.error().message));
    if (!ids.empty()) {
        {
            std::lock_guard lock(mu_);
            stats_.items += ids.size();
        }
        if (deps_.on_outgoing) deps_.on_outgoing(ids);
    }
}

std::vector<Result> Processor::process(const std::vector<std::string>& spool_ids) {
    std::uint64_t ticket = 0;
    {
        std::lock_guard lock(mu_);
        ticket = tickets_++;
    }
    return process(spool_ids, ticket);
}

void Processor::wait_turn(std::uint64_t ticket) {
    std::unique_lock lock(mu_);
    turn_cv_.wait(lock, [&] { return turn_ == ticket; });
}

void Processor::end_turn(std::uint64_t ticket) {
    {
        std::unique_lock lock(mu_);
        turn_cv_.wait(lock, [&] { return turn_ == ticket; });  // at once after wait_turn
        ++turn_;
    }
    turn_cv_.notify_all();
}

std::vector<Result> Processor::process(const std::vector<std::string>& spool_ids,
                                       std::uint64_t ticket) {
    // Whatever happens below, the batches behind this one get their turn.
    struct Turn {
        Processor& p;
        std::uint64_t ticket;
        bool held = true;
        void end() {
            if (held) p.end_turn(ticket);
            held = false;
        }
        ~Turn() { end(); }
    } turn{*this, ticket};
    const auto started = std::chrono::steady_clock::now();
    std::vector<Work> batch(spool_ids.size());
    for (std::size_t i = 0; i < batch.size(); ++i) batch[i].in.spool_id = spool_ids[i];
    // A bug met on one message keeps that message for an operator, and the others go on.
    auto guarded = [](Work& w, auto&& step) {
        try {
            step(w);
        } catch (const std::exception& e) {
            util::log_error("pipeline", util::cat(w.in.spool_id, ": ", e.what()));
            w.result = Result::quarantined;
            w.why = util::cat("processor: ", e.what());
            w.items.clear();
            w.item_ids.clear();
        }
    };
    const std::shared_ptr<const Settings> s = settings();  // the whole batch on one config
    for (Work& w : batch) guarded(w, [&](Work& x) { prepare(*s, x); });
    if (deps_.after_prepare) deps_.after_prepare(spool_ids);
    wait_turn(ticket);
    const util::Status group = deps_.store->group([&] {
        for (Work& w : batch)
            if (w.ready) guarded(w, [&](Work& x) { decide(*s, x); });
    });
    turn.end();  // the next batch may decide while this one commits its items
    if (!group) {
        // Nothing the flows recorded was kept: every decided message waits for a new try.
        util::log_warning("pipeline", util::cat("store: ", group.error().message));
        for (Work& w : batch)
            if (w.ready) w.result = Result::retry_later, w.why = group.error().message;
    }
    finish(batch);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
    for (const Work& w : batch) {
        processing_.observe(took.count());
        const char* outcome = w.result == Result::done          ? "done"
                              : w.result == Result::quarantined ? "quarantined"
                                                                : "retried";
        metrics_
            .counter("referent_messages_processed_total",
                     "Received messages through the processor, by listener role, class and "
                     "outcome (retried: left in incoming/ for a later try).",
                     {{"role", w.in.envelope.role.empty() ? "unknown" : w.in.envelope.role},
                      {"class", w.ready ? std::string(mail::to_string(w.in.cls.mail_class))
                                        : std::string("unread")},
                      {"outcome", outcome}})
            .inc();
    }
    std::vector<Result> out;
    std::lock_guard lock(mu_);
    if (group) ++stats_.batches;
    for (const Work& w : batch) {
        out.push_back(w.result);
        if (w.result == Result::done) ++stats_.processed;
        if (w.result == Result::retry_later) ++stats_.retried;
        if (w.result == Result::quarantined) ++stats_.quarantined;
    }
    return out;
}

util::Status Processor::delivery_result(const Settings& s, const DeliveryReport& r,
                                        std::vector<spool::OutgoingMessage>& items,
                                        bool& found_waiting) {
    const spool::OutgoingItem& item = *r.item;
    const auto state = !r.final      ? cases::DeliveryState::queued
                       : r.delivered ? cases::DeliveryState::delivered
                                     : cases::DeliveryState::failed;
    const bool to_citizen =
        item.kind == "reply" || item.kind == "acknowledgement" || item.kind == "absence";
    if (state == cases::DeliveryState::failed)
        metrics_
            .counter("referent_delivery_failures_total",
                     "Outbound messages failed for good (bounced, refused, or given up after "
                     "relay.max_queue_lifetime), by kind.",
                     {{"kind", item.kind}})
            .inc();
    if (state != cases::DeliveryState::failed || !to_citizen) {
        if (util::Status st = deps_.store->set_delivery(item.delivery, state, r.reply); !st)
            return st;
        if (state != cases::DeliveryState::failed) return {};
        // Nobody to tell by mail (a forward, or a notice the gateway wrote to an agent): the
        // case's event log keeps it, and the metric above counts it.
        auto kase = deps_.store->find_case(item.case_number);
        if (!kase) return kase.error();
        return deps_.store->record_event(
            *kase ? std::optional<std::int64_t>((*kase)->id) : std::nullopt, "delivery_failed",
            util::cat("kind=", item.kind, " item=", item.id, " status=", status_of(r.reply), " ",
                      r.reply));
    }
    // The notice's key is the failed item: a second report of the same failure sends nothing.
    Inbound in;
    in.spool_id = item.id;
    in.key = util::cat(s.deps.config->gateway.hostname, "/", item.id);
    Flow flow(s.deps, in);
    auto kase = deps_.store->find_case(item.case_number);
    if (!kase) return kase.error();
    if (!*kase) return {};
    util::Status st = flow.delivery_failed((*kase)->id, item.delivery, status_of(r.reply), r.reply);
    for (auto& m : flow.items) items.push_back(std::move(m));
    found_waiting = found_waiting || flow.found_waiting;
    return st;
}

util::Status Processor::delivery_results(const std::vector<DeliveryReport>& reports) {
    std::vector<spool::OutgoingMessage> items;
    bool found_waiting = false;  // a notice of an earlier report waits in outgoing/ already
    util::Status first_error;
    const std::shared_ptr<const Settings> s = settings();
    util::Status group = deps_.store->group([&] {
        for (const DeliveryReport& r : reports)
            if (util::Status st = delivery_result(*s, r, items, found_waiting); !st) {
                // This item's record failed alone (its savepoint); the others stand.
                util::log_warning("pipeline",
                                  util::cat(r.item->id, ": store: ", st.error().message));
                if (first_error && st.error().is_temporary()) first_error = st;
            }
    });
    if (!group) return group;
    // A temporary failure of one record: report the batch again (the records are idempotent).
    if (!first_error) return first_error;
    if (util::Status st = outgoing_.commit(items); !st) {
        util::log_warning("pipeline", util::cat("failure notices: ", st.error().message));
        return st;  // reported again: the notices' records are idempotent on their key
    }
    if (found_waiting && items.empty())  // else the commit above synced outgoing/
        if (util::Status st = outgoing_.sync(); !st) return st;
    std::vector<std::string> ids;
    for (const auto& m : items) ids.push_back(m.item.id);
    if (!ids.empty() && deps_.on_outgoing) deps_.on_outgoing(ids);
    return {};
}

void Processor::start(unsigned workers) {
    rescan();
    for (unsigned i = 0; i < workers; ++i) threads_.emplace_back([this] { run(); });
}

void Processor::rescan() {
    std::vector<std::string> waiting = deps_.spool->incoming_ids();
    std::size_t added = 0;
    {
        std::lock_guard lock(mu_);
        last_rescan_ = std::chrono::steady_clock::now();
        left_for_later_ = false;
        for (std::string& id : waiting) {
            if (stopping_ || queued_.count(id)) continue;
            // Listed, then handled and removed by a worker before we got the lock: not again.
            // (A worker removes an input before it lets go of its id, so an id nobody holds
            // whose envelope is still there is waiting.)
            std::error_code ec;
            if (!std::filesystem::exists(deps_.spool->incoming_dir() / (id + ".env"), ec)) continue;
            queued_.insert(id);
            queue_.push_back(std::move(id));
            ++added;
        }
    }
    if (added) cv_.notify_all();
}

void Processor::enqueue(const std::string& spool_id) {
    {
        std::lock_guard lock(mu_);
        if (stopping_ || !queued_.insert(spool_id).second) return;
        queue_.push_back(spool_id);
    }
    cv_.notify_one();
}

void Processor::run() {
    for (;;) {
        std::vector<std::string> ids;
        std::uint64_t ticket = 0;
        {
            std::unique_lock lock(mu_);
            cv_.wait_for(lock, deps_.retry_pause, [this] { return stopping_ || !queue_.empty(); });
            if (stopping_) return;
            // A message left for later (a database restarting) is tried again after a pause:
            // when idle, and under a steady load too, whose queue is never empty for long.
            const bool due = std::chrono::steady_clock::now() - last_rescan_ >= deps_.retry_pause;
            if (queue_.empty() || (left_for_later_ && due)) {
                lock.unlock();
                rescan();
                continue;
            }
            // What is waiting, up to the batch size: no waiting for a batch to fill. A batch is
            // read and parsed whole before the store sees it, so it also stops at about one
            // maximal message of input: 32 large messages never sit in memory at once.
            std::uintmax_t bytes = 0;
            while (!queue_.empty() && ids.size() < batch_) {
                std::error_code ec;
                const std::uintmax_t size = std::filesystem::file_size(
                    deps_.spool->incoming_dir() / (queue_.front() + ".msg"), ec);
                if (!ids.empty() && !ec && bytes + size > batch_bytes_) break;
                bytes += ec ? 0 : size;
                ids.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
            ticket = tickets_++;  // with the ids, so that tickets follow the queue's order
        }
        const std::vector<Result> results = process(ids, ticket);
        std::lock_guard lock(mu_);
        // With the ids let go, so that the rescan this asks for finds them.
        for (std::size_t i = 0; i < ids.size(); ++i) {
            queued_.erase(ids[i]);
            if (results[i] == Result::retry_later) left_for_later_ = true;
        }
    }
}

void Processor::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
}

Processor::Stats Processor::stats() const {
    std::lock_guard lock(mu_);
    return stats_;
}

}  // namespace referent::pipeline
