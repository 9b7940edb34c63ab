// server/connection.hpp — one client connection: a coroutine that moves bytes between a socket
// and an smtp::ServerSession.
//
// Contract: the connection owns its socket (and TLS stream after STARTTLS) and does only I/O:
// every protocol decision is the session's. It enforces idle_timeout on every read and write,
// hands completed messages to the MessageSink and resumes the session only when the sink
// reports the outcome (so "250" follows durability), counts itself in the ConnectionRegistry,
// and reacts to server shutdown (finish the transaction in flight, then 421). On close it
// half-closes and drains briefly so the client reads our last reply instead of a reset.
// Runs on the io thread only. Exceptions never escape run(): they are logged and the
// connection is closed.
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <optional>

#include "server/asio.hpp"
#include "server/connection_registry.hpp"
#include "smtp/message_sink.hpp"
#include "smtp/server_session.hpp"

namespace referent::server {

struct ConnectionSettings {
    smtp::SessionOptions session;  // per listener: dialect, limits, recipient policy
    std::string role;              // "public" | "internal"
    std::chrono::seconds idle_timeout{300};
    asio::ssl::context* tls = nullptr;  // STARTTLS offered when set
};

class Connection : public std::enable_shared_from_this<Connection> {
public:
    Connection(tcp::socket socket, std::shared_ptr<const ConnectionSettings> settings,
               smtp::MessageSink& sink, ConnectionRegistry& registry);

    // Spawns the connection's coroutine on the socket's executor.
    static void start(std::shared_ptr<Connection> self);

private:
    static asio::awaitable<void> serve(std::shared_ptr<Connection> self);
    asio::awaitable<void> run();
    asio::awaitable<void> read_and_feed();
    asio::awaitable<bool> flush();
    asio::awaitable<void> commit();
    asio::awaitable<bool> start_tls();
    asio::awaitable<void> linger_close();
    asio::awaitable<void> refuse(const smtp::Reply& reply);
    smtp::SessionOptions with_spill(smtp::SessionOptions options);
    void arm_timer(std::chrono::seconds timeout);
    void disarm_timer();
    void on_shutdown();
    void on_force();

    tcp::socket socket_;
    std::optional<asio::ssl::stream<tcp::socket&>> tls_;
    asio::steady_timer timer_;
    std::shared_ptr<const ConnectionSettings> keep_;  // the settings live as long as we do
    const ConnectionSettings& settings_;
    smtp::MessageSink& sink_;
    ConnectionRegistry& registry_;
    smtp::ServerSession session_;
    smtp::SessionInfo info_;
    ConnectionRegistry::Id id_ = 0;
    std::array<char, 65536> buffer_{};
    std::uint64_t timer_generation_ = 0;
    bool reading_ = false;
    bool committing_ = false;
    bool timed_out_ = false;
    bool peer_gone_ = false;
};

}  // namespace referent::server
