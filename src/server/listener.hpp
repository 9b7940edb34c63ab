// server/listener.hpp — one listening socket and its accept loop.
//
// Contract: bind() opens, binds and listens (SO_REUSEADDR, IPV6_V6ONLY for IPv6 addresses) and
// reports failure as a temporary Error with the address and the system's reason ("address
// already in use"), which the daemon turns into exit code 1. start() runs the accept loop on
// the io thread; each accepted socket becomes a Connection. close() stops accepting; live
// connections are not touched (the registry handles them). Accept errors such as EMFILE are
// logged and retried after a pause, never fatal. set_settings() (io thread, live reload)
// gives the connections accepted from then on new settings; each connection keeps the
// settings it was accepted with to its end.
#pragma once

#include <memory>
#include <string>

#include "server/asio.hpp"
#include "server/connection.hpp"
#include "server/connection_registry.hpp"
#include "util/result.hpp"

namespace referent::server {

class Listener {
public:
    static util::Result<std::unique_ptr<Listener>> bind(
        asio::io_context& io, const std::string& address, std::uint16_t port,
        std::shared_ptr<const ConnectionSettings> settings, smtp::MessageSink& sink,
        ConnectionRegistry& registry);

    void start();
    void close();
    void set_settings(std::shared_ptr<const ConnectionSettings> s) { settings_ = std::move(s); }
    tcp::endpoint local_endpoint() const;

private:
    Listener(asio::io_context& io, std::shared_ptr<const ConnectionSettings> settings,
             smtp::MessageSink& sink, ConnectionRegistry& registry);
    static asio::awaitable<void> accept_loop(Listener* self);

    tcp::acceptor acceptor_;
    std::shared_ptr<const ConnectionSettings> settings_;
    smtp::MessageSink& sink_;
    ConnectionRegistry& registry_;
};

}  // namespace referent::server
