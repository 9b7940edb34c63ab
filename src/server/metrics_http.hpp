// server/metrics_http.hpp — /metrics and /healthz over plain HTTP, on ops.metrics_listen.
//
// Contract: start() binds "host:port" or "[v6]:port" (port 0: any free port; port() says which)
// and serves on its own thread, one request per connection (HTTP/1.0 or 1.1, always
// "Connection: close"): GET or HEAD /metrics → 200, Prometheus text format 0.0.4, from
// `metrics`; GET or HEAD /healthz → 200 with one "name: ok" line per check, or 503 when one
// fails, from `health`. Other paths 404, other methods 405, a request line or header block
// that is malformed or over 8 KiB 400. A client silent for 5 seconds is dropped. One
// connection at a time is enough for a scraper every few seconds and bounds what a stray
// client can hold; SMTP never waits on it (its own thread). stop() returns within ~0.2 s.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "util/result.hpp"

namespace referent::server {

struct Health {
    bool ok = true;
    std::string text;  // one line per check
};

class MetricsHttp {
public:
    MetricsHttp(std::function<std::string()> metrics, std::function<Health()> health);
    ~MetricsHttp();
    MetricsHttp(const MetricsHttp&) = delete;
    MetricsHttp& operator=(const MetricsHttp&) = delete;

    util::Status start(const std::string& endpoint);
    std::uint16_t port() const { return port_; }
    void stop();

private:
    void run();
    void serve(int fd);

    std::function<std::string()> metrics_;
    std::function<Health()> health_;
    int listen_fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

}  // namespace referent::server
