// app/observability.hpp — what monitoring reads: /metrics gauges and /healthz checks.
//
// Contract: start_metrics() registers the sampled gauges (outbound queue by state, incoming/
// and corrupt/ depth, open and overdue cases: a store query per scrape) on `metrics`, and, when
// ops.metrics_listen is set, serves /metrics and /healthz there (server/metrics_http.hpp); it
// returns null when metrics_listen is "". The health checks: the spool's tmp/ is writable and its
// disk above limits.min_free_space; the store answers a query; the relay answered its last attempt
// (delivered or refused, not a temporary failure; "no attempt yet" counts as ok). Everything passed
// by reference must outlive the returned server.
#pragma once

#include <memory>

#include "app/spool_sink.hpp"
#include "cases/case_store.hpp"
#include "config/config.hpp"
#include "relay/queue_runner.hpp"
#include "server/metrics_http.hpp"
#include "spool/spool.hpp"
#include "util/metrics.hpp"

namespace referent::app {

util::Result<std::unique_ptr<server::MetricsHttp>> start_metrics(
    const config::Config& config, util::Registry& metrics, const spool::Spool& spool,
    const SpoolSink& sink, cases::CaseStore& store, const relay::QueueRunner& runner);

}  // namespace referent::app
