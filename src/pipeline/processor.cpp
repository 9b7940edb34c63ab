// The processor: see processor.hpp.
#include "pipeline/processor.hpp"

#include <exception>

#include "mail/classify.hpp"
#include "pipeline/flow.hpp"
#include "util/cat.hpp"
#include "util/log.hpp"

namespace referent::pipeline {

namespace {

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

Processor::Processor(ProcessorDeps deps)
    : deps_(std::move(deps)),
      outgoing_(*deps_.spool),
      classify_(mail::classify_config(*deps_.config)),
      limits_(mail::parse_limits(deps_.config->gateway.limits)) {}

Processor::~Processor() {
    stop();
}

Result Processor::handle(const std::string& spool_id) {
    const config::Config& c = *deps_.config;
    Inbound in;
    in.spool_id = spool_id;
    in.key = util::cat(c.gateway.hostname, "/", spool_id);
    auto env = deps_.spool->read_envelope(spool_id);
    if (!env) {
        if (env.error().is_temporary()) return Result::retry_later;
        (void)deps_.spool->quarantine(spool_id, env.error().message);
        return Result::quarantined;
    }
    in.envelope = std::move(env).value();
    // The listener bounded the size already; the extra room is the Received header we added.
    auto raw = deps_.spool->read_message(spool_id, c.gateway.limits.max_message_size + (64 << 10));
    if (!raw) return raw.error().is_temporary() ? Result::retry_later : Result::quarantined;
    in.raw = std::move(raw).value();
    auto parsed = mail::parse(in.raw, limits_);
    const bool internal = in.envelope.role == "internal";
    if (parsed) {
        in.message = std::move(parsed).value();
        mail::EnvelopeInfo e;
        e.mail_from = in.envelope.mail_from;
        e.recipients = in.envelope.recipients;
        e.role = internal ? mail::ListenerRole::internal : mail::ListenerRole::public_;
        in.cls = mail::classify(*in.message, e, classify_);
    } else {
        in.refusal = parsed.refusal().reason;
        in.cls.reason = util::cat("unparsed: ", in.refusal);
    }
    Flow flow(deps_, in);
    util::Status st = internal ? flow.agent() : flow.citizen();
    if (st) st = outgoing_.commit(flow.items);
    if (!st) {
        util::log_warning("pipeline", util::cat(spool_id, ": ", st.error().message));
        if (st.error().is_temporary()) return Result::retry_later;
        if (auto q = deps_.spool->quarantine(spool_id, st.error().message); !q)
            return Result::retry_later;
        return Result::quarantined;
    }
    if (auto rm = deps_.spool->remove_incoming(spool_id); !rm)
        util::log_warning("pipeline", util::cat(spool_id, ": ", rm.error().message));
    std::vector<std::string> ids;
    for (const auto& m : flow.items) ids.push_back(m.item.id);
    {
        std::lock_guard lock(mu_);
        stats_.items += ids.size();
    }
    if (!ids.empty() && deps_.on_outgoing) deps_.on_outgoing(ids);
    return Result::done;
}

Result Processor::process(const std::string& spool_id) {
    Result r = Result::retry_later;
    try {
        r = handle(spool_id);
    } catch (const std::exception& e) {
        // A bug met on this message: keep it for an operator, keep serving the others.
        util::log_error("pipeline", util::cat(spool_id, ": ", e.what()));
        r = deps_.spool->quarantine(spool_id, util::cat("processor: ", e.what()))
                ? Result::quarantined
                : Result::retry_later;
    }
    std::lock_guard lock(mu_);
    if (r == Result::done) ++stats_.processed;
    if (r == Result::retry_later) ++stats_.retried;
    if (r == Result::quarantined) ++stats_.quarantined;
    return r;
}

void Processor::delivery_result(const spool::OutgoingItem& item, bool delivered, bool final,
                                const std::string& reply) {
    const auto state = !final      ? cases::DeliveryState::queued
                       : delivered ? cases::DeliveryState::delivered
                                   : cases::DeliveryState::failed;
    const bool to_citizen =
        item.kind == "reply" || item.kind == "acknowledgement" || item.kind == "absence";
    if (state != cases::DeliveryState::failed || !to_citizen) {
        if (auto st = deps_.store->set_delivery(item.delivery, state, reply); !st)
            util::log_warning("pipeline", util::cat(item.id, ": store: ", st.error().message));
        return;
    }
    // The notice's key is the failed item: a second report of the same failure sends nothing.
    Inbound in;
    in.spool_id = item.id;
    in.key = util::cat(deps_.config->gateway.hostname, "/", item.id);
    Flow flow(deps_, in);
    auto kase = deps_.store->find_case(item.case_number);
    util::Status st =
        !kase    ? util::Status(kase.error())
        : !*kase ? util::Status{}
                 : flow.delivery_failed((*kase)->id, item.delivery, status_of(reply), reply);
    if (st) st = outgoing_.commit(flow.items);
    if (!st) {
        util::log_warning("pipeline", util::cat(item.id, ": failure notice: ", st.error().message));
        return;
    }
    std::vector<std::string> ids;
    for (const auto& m : flow.items) ids.push_back(m.item.id);
    if (!ids.empty() && deps_.on_outgoing) deps_.on_outgoing(ids);
}

void Processor::start(unsigned workers) {
    for (const std::string& id : deps_.spool->incoming_ids()) enqueue(id);
    for (unsigned i = 0; i < workers; ++i) threads_.emplace_back([this] { run(); });
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
        std::string id;
        {
            std::unique_lock lock(mu_);
            // A message left for later is tried again after a pause (a database restarting).
            cv_.wait_for(lock, std::chrono::seconds(5),
                         [this] { return stopping_ || !queue_.empty(); });
            if (stopping_) return;
            if (queue_.empty()) {
                lock.unlock();
                for (const std::string& left : deps_.spool->incoming_ids()) enqueue(left);
                continue;
            }
            id = queue_.front();
            queue_.pop_front();
        }
        process(id);
        std::lock_guard lock(mu_);
        queued_.erase(id);
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
