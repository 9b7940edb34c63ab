#include "server/connection.hpp"

#include "util/log.hpp"

namespace referent::server {

namespace {

using boost::system::error_code;

constexpr std::chrono::seconds linger_limit{2};

std::string endpoint_ip(const tcp::socket& s) {
    error_code ec;
    auto ep = s.remote_endpoint(ec);
    return ec ? std::string("unknown") : ep.address().to_string();
}

std::uint16_t endpoint_port(const tcp::socket& s) {
    error_code ec;
    auto ep = s.remote_endpoint(ec);
    return ec ? 0 : ep.port();
}

// Resumes the awaiting coroutine on its own executor when the sink reports, from any thread.
template <typename Token>
auto async_commit(smtp::MessageSink& sink, const smtp::SessionInfo& info,
                  smtp::AcceptedMessage message, Token&& token) {
    return asio::async_initiate<Token, void(smtp::CommitOutcome)>(
        [&sink, &info](auto handler, smtp::AcceptedMessage m) {
            auto ex = asio::get_associated_executor(handler);
            auto work = asio::make_work_guard(ex);
            auto shared = std::make_shared<decltype(handler)>(std::move(handler));
            sink.accept(info, std::move(m),
                        [shared, ex, work = std::move(work)](smtp::CommitOutcome outcome) mutable {
                            asio::post(
                                ex, [shared, outcome]() mutable { (*shared)(std::move(outcome)); });
                            work.reset();
                        });
        },
        token, std::move(message));
}

}  // namespace

Connection::Connection(tcp::socket socket, std::shared_ptr<const ConnectionSettings> settings,
                       smtp::MessageSink& sink, ConnectionRegistry& registry)
    : socket_(std::move(socket)),
      timer_(socket_.get_executor()),
      keep_(std::move(settings)),
      settings_(*keep_),
      sink_(sink),
      registry_(registry),
      session_(with_spill(settings_.session)) {
    info_.client_ip = endpoint_ip(socket_);
    info_.client_port = endpoint_port(socket_);
    info_.listener_role = settings_.role;
    info_.lmtp = settings_.session.dialect == smtp::Dialect::lmtp;
}

// The sink may keep a large message's DATA out of memory; it needs to know who is sending it.
smtp::SessionOptions Connection::with_spill(smtp::SessionOptions options) {
    options.open_spill = [this](const smtp::Transaction& t) { return sink_.open_spill(info_, t); };
    return options;
}

void Connection::start(std::shared_ptr<Connection> self) {
    auto ex = self->socket_.get_executor();
    asio::co_spawn(ex, serve(std::move(self)), asio::detached);
}

asio::awaitable<void> Connection::serve(std::shared_ptr<Connection> self) {
    co_await self->run();
}

// The handler holds the connection alive and checks a generation: a timer that expired in the
// same loop pass as the operation it guards is already queued and cannot be cancelled, so it
// must neither touch a destroyed connection nor cancel the next, unrelated operation.
void Connection::arm_timer(std::chrono::seconds timeout) {
    timed_out_ = false;
    const std::uint64_t generation = ++timer_generation_;
    timer_.expires_after(timeout);
    timer_.async_wait([self = shared_from_this(), generation](error_code ec) {
        if (ec || generation != self->timer_generation_) return;
        self->timed_out_ = true;
        error_code ignored;
        self->socket_.cancel(ignored);
    });
}

void Connection::disarm_timer() {
    ++timer_generation_;
    timer_.cancel();
}

asio::awaitable<void> Connection::run() {
    std::weak_ptr<Connection> weak = weak_from_this();
    if (registry_.stopping()) {
        co_await refuse({421, "4.3.2", settings_.session.hostname + " Service shutting down"});
        co_return;
    }
    id_ = registry_.admit(
        info_.client_ip,
        [weak] {
            if (auto c = weak.lock()) c->on_shutdown();
        },
        [weak] {
            if (auto c = weak.lock()) c->on_force();
        });
    if (id_ == 0) {
        util::log_warning("smtpd", "refused " + info_.client_ip + ": too many connections");
        co_await refuse(
            {421, "4.7.0", settings_.session.hostname + " Error: too many connections"});
        co_return;
    }
    util::log_debug("smtpd", "connect from " + info_.client_ip);
    try {
        // Bytes already waiting before our greeting: the client did not wait for it.
        error_code ec;
        std::size_t early = socket_.available(ec);
        if (!ec && early > 0) {
            std::size_t n = socket_.read_some(asio::buffer(buffer_), ec);
            if (!ec) session_.feed(std::string_view(buffer_.data(), n));
        }
        session_.start();
        while (!peer_gone_) {
            if (!co_await flush()) break;
            auto want = session_.want();
            if (want == smtp::ServerSession::Want::close) {
                co_await flush();  // a 421 queued by shutdown while the last write was going
                break;
            }
            if (want == smtp::ServerSession::Want::input)
                co_await read_and_feed();
            else if (want == smtp::ServerSession::Want::commit)
                co_await commit();
            else if (!co_await start_tls())
                break;
        }
    } catch (const std::exception& e) {
        util::log_error("smtpd", info_.client_ip + ": connection aborted: " + e.what());
    }
    co_await linger_close();
    registry_.release(id_);
    util::log_debug("smtpd", "disconnect from " + info_.client_ip);
}

asio::awaitable<void> Connection::refuse(const smtp::Reply& reply) {
    std::string out = reply.format();
    arm_timer(settings_.idle_timeout);
    error_code ec;
    co_await asio::async_write(socket_, asio::buffer(out),
                               asio::redirect_error(asio::use_awaitable, ec));
    disarm_timer();
    co_await linger_close();
}

asio::awaitable<void> Connection::read_and_feed() {
    arm_timer(settings_.idle_timeout);
    reading_ = true;
    error_code ec;
    std::size_t n = 0;
    auto buf = asio::buffer(buffer_);
    if (tls_)
        n = co_await tls_->async_read_some(buf, asio::redirect_error(asio::use_awaitable, ec));
    else
        n = co_await socket_.async_read_some(buf, asio::redirect_error(asio::use_awaitable, ec));
    reading_ = false;
    disarm_timer();
    if (ec) {
        if (timed_out_)
            session_.timeout();
        else if (ec != asio::error::operation_aborted)
            peer_gone_ = true;
        // operation_aborted without a timeout: shutdown woke us; the loop looks at want().
        if (peer_gone_ && session_.in_transaction())
            util::log_info("smtpd", info_.client_ip + ": lost connection in a transaction");
        co_return;
    }
    session_.feed(std::string_view(buffer_.data(), n));
}

asio::awaitable<bool> Connection::flush() {
    std::string out = session_.take_output();
    if (out.empty()) co_return true;
    arm_timer(settings_.idle_timeout);
    error_code ec;
    if (tls_)
        co_await asio::async_write(*tls_, asio::buffer(out),
                                   asio::redirect_error(asio::use_awaitable, ec));
    else
        co_await asio::async_write(socket_, asio::buffer(out),
                                   asio::redirect_error(asio::use_awaitable, ec));
    disarm_timer();
    if (ec) {
        peer_gone_ = true;
        co_return false;
    }
    co_return true;
}

asio::awaitable<void> Connection::commit() {
    committing_ = true;
    smtp::AcceptedMessage message = session_.take_message();
    smtp::CommitOutcome outcome =
        co_await async_commit(sink_, info_, std::move(message), asio::use_awaitable);
    committing_ = false;
    session_.commit_done(outcome);
}

asio::awaitable<bool> Connection::start_tls() {
    if (!settings_.tls) co_return false;
    tls_.emplace(socket_, *settings_.tls);
    arm_timer(settings_.idle_timeout);
    error_code ec;
    co_await tls_->async_handshake(asio::ssl::stream_base::server,
                                   asio::redirect_error(asio::use_awaitable, ec));
    disarm_timer();
    if (ec) {
        util::log_info("smtpd", info_.client_ip + ": TLS handshake failed: " + ec.message());
        tls_.reset();
        peer_gone_ = true;
        co_return false;
    }
    // Forced closed (grace period over) during the handshake: send its 421 inside TLS, stop.
    if (session_.want() != smtp::ServerSession::Want::start_tls) co_return true;
    session_.tls_started();
    co_return true;
}

// Half-close, then read and discard for a short while: closing a socket with unread input
// makes the kernel send a reset, which can destroy our final reply before the client reads it.
asio::awaitable<void> Connection::linger_close() {
    error_code ec;
    if (tls_) tls_.reset();
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    if (!peer_gone_ && !ec) {
        arm_timer(linger_limit);
        std::size_t drained = 0;
        while (drained < (1u << 20)) {
            std::size_t n = co_await socket_.async_read_some(
                asio::buffer(buffer_), asio::redirect_error(asio::use_awaitable, ec));
            if (ec) break;
            drained += n;
        }
        disarm_timer();
    }
    socket_.close(ec);
}

void Connection::on_shutdown() {
    session_.shutdown();
    error_code ec;
    if (session_.want() == smtp::ServerSession::Want::close && reading_) socket_.cancel(ec);
}

// Whatever the connection awaits — a read, a write to a client that does not read, a TLS
// handshake — it is cancelled, so the grace period bounds the stop. A commit is not: the disk
// answers soon and the session closes right after its reply.
void Connection::on_force() {
    if (committing_) return;
    session_.force_close();
    error_code ec;
    socket_.cancel(ec);
}

}  // namespace referent::server
