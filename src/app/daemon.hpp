// app/daemon.hpp — the composition root of referentd.
//
// Contract: run_daemon() loads the reply-token keys (gateway.secret_files), opens and recovers
// the spool, starts the spool writer, binds every listener, and serves on one io thread until
// SIGTERM or SIGINT. It returns the process exit code: 0 after a clean stop, 1 when the
// environment fails (spool unwritable, port in use, TLS files unreadable), 2 when a key file
// is missing, too short or readable by group or others. On SIGTERM it stops accepting, lets
// each transaction in flight finish within limits.shutdown_grace, answers 421 to the rest,
// drains the spool writer and returns 0.
// SIGHUP is logged and ignored until live reload exists. The configuration is already valid.
#pragma once

#include "config/config.hpp"

namespace referent::app {

int run_daemon(const config::Config& config);

}  // namespace referent::app
