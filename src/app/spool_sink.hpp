// app/spool_sink.hpp — the production MessageSink: accepted messages go to the spool.
//
// Contract: accept() gives the message a fresh spool id, prepends the gateway's Received:
// header, builds the envelope (role, client, HELO, MAIL FROM, recipients, arrival time, TLS)
// and hands both to the SpoolWriter's group commit. `done` is called on the writer thread
// with ok and the spool id only after the commit is durable, else temporary. has_space()
// answers the session's question at MAIL: is there room for `declared` octets above
// limits.min_free_space? Thread-safe.
//
// open_spill() gives a large message its spool id at once and creates tmp/<id>.msg with the
// Received: header (the envelope is known by the end of RCPT); the session appends the DATA to
// it as it arrives (spool::MessageFile), and accept() hands that file to the writer, which
// syncs and renames it instead of writing the bytes again. The envelope's arrival time is then
// the time the file was created, the Received: header's.
#pragma once

#include <functional>
#include <string>

#include "smtp/message_sink.hpp"
#include "spool/spool.hpp"
#include "spool/spool_writer.hpp"
#include "util/clock.hpp"
#include "util/metrics.hpp"

namespace referent::app {

class SpoolSink final : public smtp::MessageSink {
public:
    // `metrics`: referent_messages_received_total and referent_smtp_transaction_seconds.
    SpoolSink(spool::Spool& spool, spool::SpoolWriter& writer, util::Clock& clock,
              std::string hostname, std::uint64_t min_free_space, util::Registry& metrics);

    void accept(const smtp::SessionInfo& session, smtp::AcceptedMessage message,
                std::function<void(smtp::CommitOutcome)> done) override;

    std::unique_ptr<smtp::DataSpill> open_spill(const smtp::SessionInfo& session,
                                                const smtp::Transaction& transaction) override;

    bool has_space(std::uint64_t declared) const;

    // Called on the writer thread with each spool id once its commit is durable (the
    // processor's queue). Set before the listeners start.
    void on_committed(std::function<void(const std::string&)> f) { on_committed_ = std::move(f); }

private:
    spool::Envelope make_envelope(const smtp::SessionInfo& session, const smtp::Transaction& t,
                                  std::string id, util::Clock::time_point arrival) const;
    std::string received(const smtp::SessionInfo& session, const spool::Envelope& env) const;
    void commit(spool::Envelope env, std::string trace, smtp::AcceptedMessage message,
                std::function<void(smtp::CommitOutcome)> done);

    spool::Spool& spool_;
    spool::SpoolWriter& writer_;
    util::Clock& clock_;
    std::string hostname_;
    std::uint64_t min_free_space_;
    util::Registry& metrics_;
    std::function<void(const std::string&)> on_committed_;
};

}  // namespace referent::app
