#include "server/listener.hpp"

#include "util/log.hpp"

namespace referent::server {

using boost::system::error_code;

Listener::Listener(asio::io_context& io, std::shared_ptr<const ConnectionSettings> settings,
                   smtp::MessageSink& sink, ConnectionRegistry& registry)
    : acceptor_(io), settings_(std::move(settings)), sink_(sink), registry_(registry) {}

util::Result<std::unique_ptr<Listener>> Listener::bind(
    asio::io_context& io, const std::string& address, std::uint16_t port,
    std::shared_ptr<const ConnectionSettings> settings, smtp::MessageSink& sink,
    ConnectionRegistry& registry) {
    std::unique_ptr<Listener> l(new Listener(io, std::move(settings), sink, registry));
    error_code ec;
    auto ip = asio::ip::make_address(address, ec);
    std::string where = (address.find(':') != std::string::npos ? "[" + address + "]" : address) +
                        ":" + std::to_string(port);
    if (ec) return util::Error::permanent("cannot listen on " + where + ": " + ec.message());
    tcp::endpoint ep(ip, port);
    l->acceptor_.open(ep.protocol(), ec);
    if (!ec) l->acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec && ip.is_v6()) l->acceptor_.set_option(asio::ip::v6_only(true), ec);
    if (!ec) l->acceptor_.bind(ep, ec);
    if (!ec) l->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return util::Error::temporary("cannot listen on " + where + ": " + ec.message());
    return l;
}

void Listener::start() {
    asio::co_spawn(acceptor_.get_executor(), accept_loop(this), asio::detached);
}

void Listener::close() {
    error_code ec;
    acceptor_.close(ec);
}

tcp::endpoint Listener::local_endpoint() const {
    error_code ec;
    return acceptor_.local_endpoint(ec);
}

asio::awaitable<void> Listener::accept_loop(Listener* self) {
    asio::steady_timer pause(self->acceptor_.get_executor());
    while (self->acceptor_.is_open()) {
        error_code ec;
        tcp::socket socket =
            co_await self->acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) break;
        if (ec) {
            // EMFILE and friends: back off instead of spinning; the backlog keeps clients.
            util::log_warning("smtpd", "accept failed: " + ec.message());
            pause.expires_after(std::chrono::milliseconds(100));
            co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            continue;
        }
        auto c = std::make_shared<Connection>(std::move(socket), self->settings_, self->sink_,
                                              self->registry_);
        Connection::start(std::move(c));
    }
}

}  // namespace referent::server
