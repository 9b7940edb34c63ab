// app/reload.hpp — what a live reload (SIGHUP) may change, and what needs a restart.
//
// Contract: restart_only_changes() names each configuration key whose new value the running
// daemon cannot take without a restart (its sockets, files, threads or store were set up
// with the old one): the store, the spool, the hostname, TLS, the relay, the number of
// processor threads and their batch, the connection limits shared by all listeners, the free
// space floor, the shutdown grace and the metrics address. Everything else — listeners,
// services, agents and their absences, templates, reply-token keys, the other limits, the
// calendar, the deadline check, the log level — a reload applies. Empty: reloadable.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace referent::app {

std::vector<std::string> restart_only_changes(const config::Config& running,
                                              const config::Config& next);

}  // namespace referent::app
