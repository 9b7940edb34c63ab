#include "app/spool_sink.hpp"

#include <cassert>
#include <memory>

#include "smtp/received.hpp"
#include "spool/message_file.hpp"
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

namespace {

// The DATA of one large message, written to tmp/<id>.msg as it arrives.
class SpoolSpill final : public smtp::DataSpill {
public:
    SpoolSpill(spool::Envelope envelope, util::Result<spool::MessageFile> file)
        : envelope_(std::move(envelope)), file_(std::move(file)) {
        if (!file_) util::log_warning("spool", envelope_.id + ": cannot spill: " + error());
    }

    bool append(std::string_view octets) override {
        if (!file_) return false;
        if (auto st = file_->append(octets); !st) {
            util::log_warning("spool", envelope_.id + ": cannot spill: " + st.error().message);
            file_ = st.error();  // closes and removes the file now, not at the end of DATA
            return false;
        }
        return true;
    }

    spool::Envelope& envelope() { return envelope_; }
    util::Result<spool::MessageFile>& file() { return file_; }
    std::string error() const { return file_ ? std::string() : file_.error().message; }

private:
    spool::Envelope envelope_;
    util::Result<spool::MessageFile> file_;
};

}  // namespace

spool::Envelope SpoolSink::make_envelope(const smtp::SessionInfo& session,
                                         const smtp::Transaction& t, std::string id,
                                         util::Clock::time_point arrival) const {
    spool::Envelope env;
    env.id = std::move(id);
    env.role = session.listener_role;
    env.protocol = smtp::protocol_keyword(session.lmtp, t.esmtp, t.tls, t.smtputf8);
    env.client_address = session.client_ip.find(':') != std::string::npos
                             ? "[" + session.client_ip + "]:" + std::to_string(session.client_port)
                             : session.client_ip + ":" + std::to_string(session.client_port);
    env.helo = t.helo;
    env.mail_from = t.from.to_string();
    for (const auto& r : t.recipients) env.recipients.push_back(r.to_string());
    env.arrival = arrival;
    env.tls = t.tls;
    env.smtputf8 = t.smtputf8;
    env.body = body_name(t.body);
    return env;
}

std::string SpoolSink::received(const smtp::SessionInfo& session,
                                const spool::Envelope& env) const {
    smtp::ReceivedInfo info{env.helo,   session.client_ip,
                            hostname_,  env.protocol,
                            env.id,     env.recipients.size() == 1 ? env.recipients.front() : "",
                            env.arrival};
    return smtp::format_received(info);
}

std::unique_ptr<smtp::DataSpill> SpoolSink::open_spill(const smtp::SessionInfo& session,
                                                       const smtp::Transaction& transaction) {
    spool::Envelope env = make_envelope(session, transaction, spool_.new_id(), clock_.now());
    auto file = spool::MessageFile::create(spool_, env.id, received(session, env));
    return std::make_unique<SpoolSpill>(std::move(env), std::move(file));
}

void SpoolSink::accept(const smtp::SessionInfo& session, smtp::AcceptedMessage message,
                       std::function<void(smtp::CommitOutcome)> done) {
    if (message.spill) {
        auto* spill = dynamic_cast<SpoolSpill*>(message.spill.get());
        assert(spill);  // only this sink's spills come back here
        spool::Envelope env = std::move(spill->envelope());
        return commit(std::move(env), {}, std::move(message), std::move(done));
    }
    spool::Envelope env =
        make_envelope(session, message.transaction, spool_.new_id(), clock_.now());
    std::string trace = received(session, env);
    commit(std::move(env), std::move(trace), std::move(message), std::move(done));
}

// `trace` and `message.data`, or the spill's file.
void SpoolSink::commit(spool::Envelope env, std::string trace, smtp::AcceptedMessage message,
                       std::function<void(smtp::CommitOutcome)> done) {
    auto* spill = dynamic_cast<SpoolSpill*>(message.spill.get());
    const std::size_t size =
        spill && spill->file() ? spill->file()->size() : trace.size() + message.data.size();
    spool::SpoolWriter::Done reported = [this, done = std::move(done), id = env.id, role = env.role,
                                         nrcpt = env.recipients.size(), size,
                                         started =
                                             message.transaction.started](util::Status status) {
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
            .observe(
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
        if (status.ok()) {
            util::log_info("spool", id + ": queued role=" + role + " size=" + std::to_string(size) +
                                        " nrcpt=" + std::to_string(nrcpt));
            done({smtp::CommitOutcome::Status::ok, id});
            if (on_committed_) on_committed_(id);
        } else {
            util::log_warning("spool", id + ": not queued: " + status.error().message);
            done({status.error().is_temporary() ? smtp::CommitOutcome::Status::temporary
                                                : smtp::CommitOutcome::Status::permanent,
                  {}});
        }
    };
    if (!spill)
        return writer_.commit(std::move(env), std::move(trace), std::move(message.data),
                              std::move(reported));
    // The session answers 451 itself when an append failed; a file that failed anyway is not
    // committed (a bug, but not one to lose mail over).
    if (!spill->file()) return reported(util::Error::temporary(spill->error()));
    writer_.commit(std::move(env), std::move(*spill->file()), std::move(reported));
}

}  // namespace referent::app
