// server/connection_registry.hpp — the live connections, for limits and for shutdown.
//
// Contract: admit() counts a new connection against max_connections (all listeners together)
// and max_connections_per_ip, and refuses it when either is reached; release() undoes admit().
// Connections register a shutdown callback so the server can tell each one to finish. Used on
// the io thread only (not thread-safe, by design: the io thread owns every socket).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace referent::server {

class ConnectionRegistry {
public:
    ConnectionRegistry(std::uint32_t max_total, std::uint32_t max_per_ip)
        : max_total_(max_total), max_per_ip_(max_per_ip) {}

    using Id = std::uint64_t;

    // Returns 0 when the connection must be refused.
    Id admit(const std::string& ip, std::function<void()> on_shutdown,
             std::function<void()> on_force);
    void release(Id id);

    // Ask every connection to finish its transaction and close; from now on stopping() is true
    // and connections that start (accepted just before the listeners closed) refuse at once.
    void shutdown_all();
    bool stopping() const { return stopping_; }
    void force_all();  // the grace period is over: close now
    std::size_t size() const { return live_.size(); }
    void on_empty(std::function<void()> callback) { on_empty_ = std::move(callback); }

private:
    struct Entry {
        std::string ip;
        std::function<void()> on_shutdown;
        std::function<void()> on_force;
    };
    std::uint32_t max_total_;
    std::uint32_t max_per_ip_;
    Id next_ = 1;
    std::map<Id, Entry> live_;
    std::map<std::string, std::uint32_t> per_ip_;
    std::function<void()> on_empty_;
    bool stopping_ = false;
};

}  // namespace referent::server
