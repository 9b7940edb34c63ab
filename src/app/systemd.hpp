// app/systemd.hpp — what referentd tells the service manager: ready, reloading, status, alive,
// stopping.
//
// Contract: SystemdNotifier sends sd_notify(3) messages to $NOTIFY_SOCKET; without that
// variable (not started by systemd) every call is a no-op. ready() sends READY=1 with
// "STATUS=serving on N listeners" and, when the unit sets WatchdogSec= (sd_watchdog_enabled()
// > 0 for this pid), starts a steady_timer on the daemon's io_context that sends WATCHDOG=1
// every half period. The pings come from the io thread itself, so an io loop that stops
// turning stops them and systemd restarts the daemon. stopping() sends STOPPING=1 with
// "STATUS=stopping" and cancels the timer: once a stop begins, the watchdog holds no work on
// the io_context, so run() returns when the last connection is gone (systemd stops watching
// at STOPPING=1; TimeoutStopSec= bounds the drain).
// Errors: a malformed WATCHDOG_USEC is logged and the watchdog stays off; a failed send is
// ignored (the service manager's view is advisory for the daemon). Not thread-safe: call it
// on the io thread, or before run().
#pragma once

#include <chrono>
#include <cstddef>

#include "server/asio.hpp"

namespace referent::app {

class SystemdNotifier {
public:
    explicit SystemdNotifier(server::asio::io_context& io);

    // READY=1 and the status line; starts the watchdog pings if systemd asked for them.
    void ready(std::size_t listeners);
    // A live reload: RELOADING=1 (with MONOTONIC_USEC) when it begins; READY=1 and the
    // status line when it ends, applied or refused (the watchdog keeps its pace).
    void reloading();
    void reloaded(std::size_t listeners, bool applied);
    // STOPPING=1 and the status line; no ping after this.
    void stopping();

    // Zero when systemd did not ask for a watchdog.
    std::chrono::microseconds watchdog_period() const { return period_; }

private:
    void arm();

    server::asio::steady_timer timer_;
    std::chrono::microseconds period_{0};
    bool stopping_ = false;
};

}  // namespace referent::app
