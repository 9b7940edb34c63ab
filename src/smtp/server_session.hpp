// smtp/server_session.hpp — the SMTP (RFC 5321) and LMTP (RFC 2033) server state machine, sans I/O.
//
// Contract: the session takes the bytes a client sent (feed) and produces the bytes to send back
// (take_output); it never touches a socket, a clock or a file. The caller drives it:
//
//   start()                      queue the 220 greeting (feed() before start() is a
//                                pre-greeting protocol violation: 554 and close)
//   loop: write take_output(); then by want():
//     input     → read some bytes, feed() them
//     commit    → take_message(), hand it to a MessageSink, later commit_done(outcome)
//     start_tls → do the TLS handshake, then tls_started() (or close if it fails)
//     close     → write the output, close the connection
//   timeout()  when the client was idle too long; shutdown() when the server stops.
//
// Guarantees: input may be split at any byte; commands are answered in order, one reply each
// (LMTP: one reply per accepted recipient after DATA); input received before a reply that
// changes the session's footing (STARTTLS, DATA's 354) is discarded or refused, never acted on
// (CVE-2011-0411, RFC 2920 §3.1). Every bound of SessionOptions is enforced; memory held is
// bounded by max_command_length plus what the caller fed at once plus the message limits;
// with open_spill, by max_data_in_memory instead of max_message_size: past it the DATA goes
// to the spill as it arrives (a spill that fails: 451 at the end of DATA, nothing committed).
// 250 for a message is produced only by commit_done(ok). Not thread-safe: one per connection.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "smtp/data_decoder.hpp"
#include "smtp/message_sink.hpp"
#include "smtp/reply.hpp"

namespace referent::smtp {

enum class Dialect { smtp, lmtp };

struct SessionOptions {
    Dialect dialect = Dialect::smtp;
    std::string hostname = "localhost";
    std::uint64_t max_message_size = 25ull << 20;
    std::uint64_t max_header_size = 256ull << 10;
    std::uint32_t max_recipients = 100;
    std::uint32_t max_errors = 10;
    std::uint32_t max_nonmail_commands = 50;
    std::uint32_t max_command_length = 512;  // octets including CRLF
    // A message is held in memory up to this many octets; past them the session opens a spill
    // (when open_spill is set and returns one) and appends the DATA to it as it arrives.
    std::uint64_t max_data_in_memory = 256ull << 10;
    std::function<std::unique_ptr<DataSpill>(const Transaction&)> open_spill;
    bool tls_available = false;  // offer STARTTLS
    // Returns the refusal for a recipient, or nothing to accept it.
    std::function<std::optional<Reply>(const Address&)> check_recipient;
    // False when the spool lacks room for a message of `declared` octets (0 = unknown).
    std::function<bool(std::uint64_t declared)> has_space;
    // Told of every 4xx/5xx reply the session sends (the metrics' refusals by reason).
    std::function<void(const Reply&)> on_refusal;
};

class ServerSession {
public:
    enum class Want { input, commit, start_tls, close };

    explicit ServerSession(SessionOptions options);

    void start();
    void feed(std::string_view bytes);
    std::string take_output();
    Want want() const { return want_; }

    AcceptedMessage take_message();
    void commit_done(const CommitOutcome& outcome);
    void tls_started();
    void timeout();
    void shutdown();
    void force_close();

    bool tls_active() const { return tls_active_; }
    bool in_transaction() const { return mail_given_ || want_ == Want::commit; }
    std::uint32_t error_count() const { return errors_; }
    std::size_t buffered() const { return in_.size(); }  // unconsumed input held

private:
    enum class Phase { command, data, discard_line };

    void process();
    void process_line(std::string_view line);
    void handle_helo(std::string_view arg, bool extended);
    void handle_mail(std::string_view arg);
    void handle_rcpt(std::string_view arg);
    void handle_data(std::string_view arg);
    void handle_starttls(std::string_view arg);
    void handle_nonmail(const Reply& reply);
    void finish_data();
    void spill_data();
    void reply_for_each_recipient(const Reply& reply);
    void reply(const Reply& r);
    void reply_uncounted(const Reply& r);
    void count_error();
    void close_with(const Reply& r);
    void reset_transaction();
    void message_accepted();

    SessionOptions options_;
    std::string in_;
    std::size_t pos_ = 0;
    std::string out_;
    Want want_ = Want::input;
    Phase phase_ = Phase::command;
    bool started_ = false;
    bool tls_active_ = false;
    bool shutting_down_ = false;

    std::optional<std::string> helo_;
    bool esmtp_ = false;
    bool mail_given_ = false;
    Transaction transaction_;
    std::optional<DataDecoder> decoder_;
    std::string message_;
    std::unique_ptr<DataSpill> spill_;  // the DATA past max_data_in_memory
    bool spill_failed_ = false;         // an append failed: the rest is discarded, 451 at the end

    std::uint32_t errors_ = 0;
    std::uint32_t nonmail_ = 0;
};

}  // namespace referent::smtp
