#include "smtp/server_session.hpp"

#include <cassert>
#include <utility>

namespace referent::smtp {

namespace {

// A domain or an address literal (RFC 5321 §4.1.1.1), and '_' that many hosts use. The
// argument is copied into the Received: header, where '(', ')' or ';' would confuse readers.
bool valid_helo_argument(std::string_view arg) {
    if (arg.empty() || arg.size() > 255) return false;
    for (char c : arg) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.' || c == '_' || c == '[' || c == ']' || c == ':';
        if (!ok) return false;
    }
    return true;
}

// NUL and CR have no place in a command line (CR only ends it): refusing them here means
// no parser downstream ever sees one, whatever it does with C strings.
bool has_control_octets(std::string_view line) {
    return line.find('\0') != std::string_view::npos || line.find('\r') != std::string_view::npos;
}

}  // namespace

ServerSession::ServerSession(SessionOptions options) : options_(std::move(options)) {}

void ServerSession::start() {
    if (started_ || want_ == Want::close) return;
    started_ = true;
    const char* proto = options_.dialect == Dialect::lmtp ? " LMTP" : " ESMTP";
    reply({220, "", options_.hostname + proto + " Referent"});
}

void ServerSession::feed(std::string_view bytes) {
    if (want_ == Want::close) return;
    if (!started_) {
        // RFC 5321 §3.1: the client waits for the greeting. Talking first is the mark of a
        // spam engine or of an attempt to desynchronise us; never act on it.
        close_with({554, "5.5.0", options_.hostname + " Error: protocol synchronization"});
        return;
    }
    in_.append(bytes);
    process();
}

std::string ServerSession::take_output() {
    return std::exchange(out_, {});
}

void ServerSession::reply_uncounted(const Reply& r) {
    out_ += r.format();
    if (r.is_error() && options_.on_refusal) options_.on_refusal(r);
}

void ServerSession::reply(const Reply& r) {
    out_ += r.format();
    if (!r.is_error()) return;
    if (options_.on_refusal) options_.on_refusal(r);
    count_error();
}

// Like Postfix's hard error limit: a client that keeps failing is cut off (a dictionary
// attack on recipients, a broken script), so one connection cannot hold a slot forever.
void ServerSession::count_error() {
    if (++errors_ >= options_.max_errors)
        close_with({421, "4.7.0", options_.hostname + " Error: too many errors"});
}

void ServerSession::close_with(const Reply& r) {
    out_ += r.format();
    if (options_.on_refusal) options_.on_refusal(r);
    want_ = Want::close;
    in_.clear();
    pos_ = 0;
    spill_.reset();  // a message cut mid-DATA leaves nothing stored
}

void ServerSession::reset_transaction() {
    mail_given_ = false;
    transaction_ = Transaction{};
    decoder_.reset();
    spill_.reset();
    spill_failed_ = false;
}

void ServerSession::process() {
    while (want_ == Want::input && pos_ < in_.size()) {
        if (phase_ == Phase::data) {
            pos_ += decoder_->feed(std::string_view(in_).substr(pos_));
            spill_data();
            if (decoder_->done()) finish_data();
            continue;
        }
        std::size_t nl = in_.find('\n', pos_);
        if (phase_ == Phase::discard_line) {
            if (nl == std::string::npos) {
                pos_ = in_.size();
                break;
            }
            pos_ = nl + 1;
            phase_ = Phase::command;
            reply({500, "5.5.2", "Error: line too long"});
            continue;
        }
        std::size_t limit = options_.max_command_length;
        if (nl == std::string::npos) {
            if (in_.size() - pos_ > limit) {
                phase_ = Phase::discard_line;  // keep memory bounded; answer at its end
                pos_ = in_.size();
            }
            break;
        }
        if (nl + 1 - pos_ > limit) {
            pos_ = nl + 1;
            reply({500, "5.5.2", "Error: line too long"});
            continue;
        }
        std::string_view line = std::string_view(in_).substr(pos_, nl - pos_);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        pos_ = nl + 1;
        process_line(line);
    }
    // Compact: everything before pos_ is consumed.
    if (pos_ > 0) {
        in_.erase(0, pos_);
        pos_ = 0;
    }
}

void ServerSession::process_line(std::string_view line) {
    if (shutting_down_ && !mail_given_) {
        close_with({421, "4.3.2", options_.hostname + " Service shutting down"});
        return;
    }
    if (has_control_octets(line))
        return reply({500, "5.5.2", "Error: control characters in command"});
    Command cmd = parse_command(line);
    const bool lmtp = options_.dialect == Dialect::lmtp;
    switch (cmd.verb) {
        case Verb::helo:
        case Verb::ehlo:
            if (lmtp) return reply({500, "5.5.1", "Error: use LHLO in LMTP"});
            return handle_helo(cmd.argument, cmd.verb == Verb::ehlo);
        case Verb::lhlo:
            if (!lmtp) return reply({500, "5.5.2", "Error: command not recognized"});
            return handle_helo(cmd.argument, true);
        case Verb::mail:
            return handle_mail(cmd.argument);
        case Verb::rcpt:
            return handle_rcpt(cmd.argument);
        case Verb::data:
            return handle_data(cmd.argument);
        case Verb::starttls:
            return handle_starttls(cmd.argument);
        case Verb::rset:
            reset_transaction();
            return handle_nonmail({250, "2.0.0", "Ok"});
        case Verb::noop:
            return handle_nonmail({250, "2.0.0", "Ok"});
        case Verb::help:
            return handle_nonmail({214, "2.0.0", "See RFC 5321"});
        case Verb::vrfy:
            return handle_nonmail({502, "5.5.1", "Error: VRFY is disabled"});
        case Verb::expn:
            return handle_nonmail({502, "5.5.1", "Error: EXPN is disabled"});
        case Verb::quit:
            return close_with({221, "2.0.0", "Bye"});
        case Verb::bdat:
        case Verb::auth:
            return reply({502, "5.5.1", "Error: command not implemented"});
        case Verb::unknown:
            return reply({500, "5.5.2", "Error: command not recognized"});
    }
}

void ServerSession::handle_nonmail(const Reply& r) {
    if (++nonmail_ > options_.max_nonmail_commands) {
        close_with({421, "4.7.0", options_.hostname + " Error: too many non-mail commands"});
        return;
    }
    reply(r);
}

void ServerSession::handle_helo(std::string_view arg, bool extended) {
    // Greetings count as non-mail commands: an endless EHLO loop would hold a connection
    // slot forever and amplify each read into a large reply.
    if (++nonmail_ > options_.max_nonmail_commands) {
        close_with({421, "4.7.0", options_.hostname + " Error: too many non-mail commands"});
        return;
    }
    if (!valid_helo_argument(arg)) {
        const char* verb =
            options_.dialect == Dialect::lmtp ? "LHLO" : (extended ? "EHLO" : "HELO");
        return reply({501, "5.5.4", std::string("Syntax: ") + verb + " hostname"});
    }
    reset_transaction();
    helo_ = std::string(arg);
    esmtp_ = extended;
    if (!extended) return reply({250, "", options_.hostname});
    Reply r;
    r.code = 250;
    r.lines = {options_.hostname,
               "PIPELINING",
               "SIZE " + std::to_string(options_.max_message_size),
               "8BITMIME",
               "ENHANCEDSTATUSCODES",
               "SMTPUTF8"};
    if (options_.tls_available && !tls_active_) r.lines.push_back("STARTTLS");
    reply(r);
}

void ServerSession::handle_mail(std::string_view arg) {
    if (!helo_) return reply({503, "5.5.1", "Error: send HELO/EHLO first"});
    if (mail_given_) return reply({503, "5.5.1", "Error: nested MAIL command"});
    MailParse parsed = parse_mail(arg);
    if (!parsed.args) return reply(parsed.refusal);
    MailArgs& args = *parsed.args;
    if (!esmtp_ && (args.size || args.smtputf8 || args.body != Body::unspecified))
        return reply({555, "5.5.4", "Error: parameters require EHLO"});
    if (args.size && *args.size > options_.max_message_size)
        return reply({552, "5.3.4", "Error: message size exceeds fixed limit"});
    if (options_.has_space && !options_.has_space(args.size.value_or(0)))
        return reply({452, "4.3.1", "Error: insufficient system storage"});
    mail_given_ = true;
    transaction_ = Transaction{};
    transaction_.helo = *helo_;
    transaction_.esmtp = esmtp_;
    transaction_.from = std::move(args.from);
    transaction_.body = args.body;
    transaction_.smtputf8 = args.smtputf8;
    transaction_.tls = tls_active_;
    transaction_.started = std::chrono::steady_clock::now();
    reply({250, "2.1.0", "Ok"});
}

void ServerSession::handle_rcpt(std::string_view arg) {
    if (!mail_given_) return reply({503, "5.5.1", "Error: need MAIL command"});
    RcptParse parsed = parse_rcpt(arg, transaction_.smtputf8);
    if (!parsed.args) return reply(parsed.refusal);
    if (transaction_.recipients.size() >= options_.max_recipients)
        // Not an error of the client's: RFC 5321 §4.5.3.1.10 expects it to send the remaining
        // recipients in a later transaction, so this must not count toward max_errors.
        return reply_uncounted({452, "4.5.3", "Error: too many recipients"});
    if (options_.check_recipient) {
        if (auto refusal = options_.check_recipient(parsed.args->to)) return reply(*refusal);
    }
    transaction_.recipients.push_back(std::move(parsed.args->to));
    reply({250, "2.1.5", "Ok"});
}

void ServerSession::handle_data(std::string_view arg) {
    if (!arg.empty()) return reply({501, "5.5.4", "Syntax: DATA"});
    if (!mail_given_) return reply({503, "5.5.1", "Error: need MAIL command"});
    if (transaction_.recipients.empty()) {
        // RFC 2033 §4.2: an LMTP server answers 503 here; SMTP's usual answer is 554.
        int code = options_.dialect == Dialect::lmtp ? 503 : 554;
        return reply({code, "5.5.1", "Error: no valid recipients"});
    }
    if (pos_ < in_.size()) {
        // RFC 2920 §3.1: DATA ends a pipelined group; content sent before our 354 means the
        // client is not waiting for replies, so nothing it sends can be trusted to line up.
        close_with({554, "5.5.0", options_.hostname + " Error: protocol synchronization"});
        return;
    }
    decoder_.emplace(options_.max_message_size, options_.max_header_size);
    phase_ = Phase::data;
    out_ += Reply{354, "", "End data with <CR><LF>.<CR><LF>"}.format();
}

void ServerSession::handle_starttls(std::string_view arg) {
    if (!options_.tls_available) return reply({502, "5.5.1", "Error: command not implemented"});
    if (tls_active_) return reply({503, "5.5.1", "Error: TLS already active"});
    if (!arg.empty()) return reply({501, "5.5.4", "Syntax: STARTTLS"});
    out_ += Reply{220, "2.0.0", "Ready to start TLS"}.format();
    // CVE-2011-0411: anything pipelined after STARTTLS arrived in plaintext; drop it.
    in_.clear();
    pos_ = 0;
    want_ = Want::start_tls;
}

void ServerSession::tls_started() {
    assert(want_ == Want::start_tls);
    tls_active_ = true;
    helo_.reset();
    esmtp_ = false;
    reset_transaction();
    want_ = Want::input;
}

// Past max_data_in_memory, what the decoder stored goes to the spill, so the session holds at
// most that plus one feed. A message the decoder stopped storing (too large) is not spilled
// further: it will be refused. After a failed append the rest is only discarded.
void ServerSession::spill_data() {
    std::string& stored = decoder_->stored();
    if (spill_failed_) return stored.clear();
    if (!spill_) {
        if (stored.size() <= options_.max_data_in_memory || !options_.open_spill) return;
        if (decoder_->problem() == DataDecoder::Problem::too_large ||
            decoder_->problem() == DataDecoder::Problem::header_too_large)
            return;
        spill_ = options_.open_spill(transaction_);
        if (!spill_) return;  // the sink has none: the message stays in memory
    }
    if (stored.empty()) return;
    if (!spill_->append(stored)) {
        spill_failed_ = true;
        spill_.reset();
    }
    stored.clear();
}

void ServerSession::finish_data() {
    phase_ = Phase::command;
    if (spill_failed_ && decoder_->problem() == DataDecoder::Problem::none) {
        reply_for_each_recipient({451, "4.3.0", "Error: queue file write error"});
        reset_transaction();
        return;
    }
    switch (decoder_->problem()) {
        case DataDecoder::Problem::too_large:
            reply_for_each_recipient({552, "5.3.4", "Error: message file too big"});
            break;
        case DataDecoder::Problem::header_too_large:
            reply_for_each_recipient({552, "5.3.4", "Error: message header too big"});
            break;
        case DataDecoder::Problem::bare_line_ending:
            reply_for_each_recipient(
                {550, "5.5.2", "Error: bare <CR> or <LF> received; use <CR><LF>"});
            break;
        case DataDecoder::Problem::none:
            message_ = decoder_->take();
            decoder_.reset();
            want_ = Want::commit;
            return;
    }
    reset_transaction();
}

AcceptedMessage ServerSession::take_message() {
    assert(want_ == Want::commit);
    return AcceptedMessage{transaction_, std::exchange(message_, {}), std::move(spill_)};
}

void ServerSession::commit_done(const CommitOutcome& outcome) {
    assert(want_ == Want::commit);
    want_ = Want::input;
    switch (outcome.status) {
        case CommitOutcome::Status::ok:
            reply_for_each_recipient({250, "2.0.0", "Ok: queued as " + outcome.queue_id});
            message_accepted();
            break;
        case CommitOutcome::Status::temporary:
            reply_for_each_recipient({451, "4.3.0", "Error: queue file write error"});
            break;
        case CommitOutcome::Status::permanent:
            reply_for_each_recipient({554, "5.3.0", "Error: message refused"});
            break;
    }
    reset_transaction();
    if (want_ != Want::input) return;
    if (shutting_down_) {
        close_with({421, "4.3.2", options_.hostname + " Service shutting down"});
        return;
    }
    process();  // commands the client pipelined after the final dot
}

void ServerSession::message_accepted() {
    errors_ = 0;
    nonmail_ = 0;
}

void ServerSession::reply_for_each_recipient(const Reply& r) {
    if (options_.dialect != Dialect::lmtp) return reply(r);
    // RFC 2033 §4.2: one reply per recipient that RCPT accepted, in order.
    for (const Address& rcpt : transaction_.recipients) {
        Reply per = r;
        per.lines.front() = "<" + rcpt.to_string() + "> " + per.lines.front();
        out_ += per.format();
    }
    if (r.is_error()) count_error();
}

void ServerSession::timeout() {
    if (want_ == Want::close) return;
    close_with({421, "4.4.2", options_.hostname + " Error: timeout exceeded"});
}

void ServerSession::shutdown() {
    shutting_down_ = true;
    if (want_ == Want::input && phase_ == Phase::command && !mail_given_)
        close_with({421, "4.3.2", options_.hostname + " Service shutting down"});
}

void ServerSession::force_close() {
    if (want_ == Want::close) return;
    close_with({421, "4.3.2", options_.hostname + " Service shutting down"});
}

}  // namespace referent::smtp
