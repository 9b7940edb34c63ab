// app/listeners.hpp — the daemon's listening sockets, in step with gateway.listen.
//
// Contract: apply() makes the listening sockets match a configuration. A listener is known
// by (address, port, protocol, role): one already bound keeps its socket and gets the new
// settings (limits, recipient policy, tokens) for the connections it accepts from then on,
// while connections in flight finish on theirs; one newly listed is bound (and started when
// `start` is set); one no longer listed stops accepting, its connections untouched. All or
// nothing: when a new address cannot be bound, the sockets bound by this call are closed and
// nothing else changes. Runs on the io thread (start, reload), like the listeners themselves.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "app/spool_sink.hpp"
#include "config/config.hpp"
#include "server/connection_registry.hpp"
#include "server/listener.hpp"
#include "server/recipient_policy.hpp"
#include "util/metrics.hpp"

namespace referent::app {

class ListenerSet {
public:
    ListenerSet(server::asio::io_context& io, SpoolSink& sink, server::ConnectionRegistry& registry,
                server::asio::ssl::context* tls, util::Registry& metrics);

    util::Status apply(const config::Config& c, const server::TokenCheck& check_token, bool start);
    void start_all();
    void close_all();
    std::size_t size() const { return entries_.size(); }

private:
    struct Entry {
        std::string key;
        std::unique_ptr<server::Listener> listener;
    };
    server::asio::io_context& io_;
    SpoolSink& sink_;
    server::ConnectionRegistry& registry_;
    server::asio::ssl::context* tls_;
    util::Registry& metrics_;
    std::vector<Entry> entries_;
};

}  // namespace referent::app
