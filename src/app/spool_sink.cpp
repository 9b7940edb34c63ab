#include "app/spool_sink.hpp"

#include "smtp/received.hpp"
#include "util/log.hpp"

namespace referent::app {

namespace {

const char* body_name(smtp::Body b) {
    return b == smtp::Body::eight_bit_mime ? "8BITMIME" : "7BIT";
}

}  // namespace

SpoolSink::SpoolSink(spool::Spool& spool, spool::SpoolWriter& writer, util::Clock& clock,
                     std::string hostname, std::uint64_t min_free_space, util::Registry& metrics)
    : spool_(spool),
      writer_(writer),
      clock_(clock),
      hostname_(std::move(hostname)),
      min_free_space_(min_free_space),
      metrics_(metrics) {}

bool SpoolSink::has_space(std::uint64_t declared) const {
    auto free = spool_.free_space();
    if (!free) {
        util::log_warning("spool", "cannot read free space: " + free.error().message);
        return false;
    }
    return *free >= min_free_space_ && *free - min_free_space_ >= declared;
}

void SpoolSink::accept(const smtp::SessionInfo& session, smtp::AcceptedMessage message,
                       std::function<void(smtp::CommitOutcome)> done) {
    const smtp::Transaction& t = message.transaction;
    spool::Envelope env;
    env.id = spool_.new_id();
    env.role = session.listener_role;
    env.protocol = smtp::protocol_keyword(session.lmtp, t.esmtp, t.tls, t.smtputf8);
    env.client_address = session.client_ip.find(':') != std::string::npos
                             ? "[" + session.client_ip + "]:" + std::to_string(session.client_port)
                             : session.client_ip + ":" + std::to_string(session.client_port);
    env.helo = t.helo;
    env.mail_from = t.from.to_string();
    for (const auto& r : t.recipients) env.recipients.push_back(r.to_string());
    env.arrival = clock_.now();
    env.tls = t.tls;
    env.smtputf8 = t.smtputf8;
    env.body = body_name(t.body);

    smtp::ReceivedInfo received{
        t.helo,     session.client_ip,
        hostname_,  env.protocol,
        env.id,     env.recipients.size() == 1 ? env.recipients.front() : "",
        env.arrival};
    std::string trace = smtp::format_received(received);
    std::size_t size = trace.size() + message.data.size();

    std::string id = env.id;
    std::string role = env.role;
    std::size_t nrcpt = env.recipients.size();
    writer_.commit(
        std::move(env), std::move(trace), std::move(message.data),
        [this, done = std::move(done), id, role, nrcpt, size,
         started = t.started](util::Status status) {
            const char* outcome = status.ok()                     ? "queued"
                                  : status.error().is_temporary() ? "temporary"
                                                                  : "permanent";
            metrics_
                .counter("referent_messages_received_total",
                         "Messages at the end of DATA, by listener role and outcome (queued: "
                         "durable in the spool and answered 250).",
                         {{"role", role}, {"outcome", outcome}})
                .inc();
            metrics_
                .histogram("referent_smtp_transaction_seconds",
                           "From MAIL accepted to the reply after DATA, by listener role.",
                           util::latency_buckets(), {{"role", role}})
                .observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
                             .count());
            if (status.ok()) {
                util::log_info("spool", id + ": queued role=" + role +
                                            " size=" + std::to_string(size) +
                                            " nrcpt=" + std::to_string(nrcpt));
                done({smtp::CommitOutcome::Status::ok, id});
                if (on_committed_) on_committed_(id);
            } else {
                util::log_warning("spool", id + ": not queued: " + status.error().message);
                done({status.error().is_temporary() ? smtp::CommitOutcome::Status::temporary
                                                    : smtp::CommitOutcome::Status::permanent,
                      {}});
            }
        });
}

}  // namespace referent::app
