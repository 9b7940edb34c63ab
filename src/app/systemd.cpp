#include "app/systemd.hpp"

#include <systemd/sd-daemon.h>

#include <cstdint>
#include <string>
#include <system_error>

#include "util/log.hpp"

namespace referent::app {

namespace {

// Half the period systemd gives, as sd_watchdog_enabled(3) advises: one late ping on a busy
// machine is not yet a missed deadline.
std::chrono::microseconds ping_period() {
    std::uint64_t usec = 0;
    int r = sd_watchdog_enabled(0, &usec);
    if (r < 0) {
        util::log_warning("referentd", "watchdog: no pings: WATCHDOG_USEC or WATCHDOG_PID: " +
                                           std::system_category().message(-r));
        return std::chrono::microseconds(0);
    }
    if (r == 0 || usec < 2) return std::chrono::microseconds(0);
    return std::chrono::microseconds(static_cast<std::chrono::microseconds::rep>(usec / 2));
}

}  // namespace

SystemdNotifier::SystemdNotifier(server::asio::io_context& io)
    : timer_(io), period_(ping_period()) {}

void SystemdNotifier::ready(std::size_t listeners) {
    std::string status = "STATUS=serving on " + std::to_string(listeners) + " listener" +
                         (listeners == 1 ? "" : "s");
    sd_notify(0, ("READY=1\n" + status).c_str());
    if (period_.count() == 0) return;
    util::log_info("referentd", "watchdog: pinging systemd every " +
                                    std::to_string(period_.count() / 1000) + "ms");
    arm();
}

void SystemdNotifier::reloading() {
    const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now().time_since_epoch());
    sd_notify(0, ("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(now.count()) +
                  "\nSTATUS=reloading the configuration")
                     .c_str());
}

void SystemdNotifier::reloaded(std::size_t listeners, bool applied) {
    std::string status = std::string("STATUS=") +
                         (applied ? "reloaded; " : "reload refused, previous configuration; ") +
                         "serving on " + std::to_string(listeners) + " listener" +
                         (listeners == 1 ? "" : "s");
    sd_notify(0, ("READY=1\n" + status).c_str());
}

void SystemdNotifier::stopping() {
    stopping_ = true;
    timer_.cancel();
    sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

void SystemdNotifier::arm() {
    timer_.expires_after(period_);
    timer_.async_wait([this](boost::system::error_code ec) {
        if (ec || stopping_) return;
        sd_notify(0, "WATCHDOG=1");
        arm();
    });
}

}  // namespace referent::app
