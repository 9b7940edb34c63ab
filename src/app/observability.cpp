// Monitoring's view of the daemon: see observability.hpp.
#include "app/observability.hpp"

#include <unistd.h>

#include <filesystem>

#include "util/cat.hpp"
#include "util/log.hpp"

namespace referent::app {

namespace {

double files_in(const std::filesystem::path& dir, std::string_view extension) {
    std::error_code ec;
    double n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec))
        if (e.path().extension() == extension) ++n;
    return n;
}

server::Health health(const spool::Spool& spool, const SpoolSink& sink, cases::CaseStore& store,
                      const relay::QueueRunner& runner) {
    server::Health h;
    auto check = [&h](const char* name, bool ok, const std::string& why) {
        h.ok = h.ok && ok;
        h.text += util::cat(name, ": ", ok ? "ok" : why, "\n");
    };
    const bool writable = ::access(spool.tmp_dir().c_str(), W_OK) == 0;
    check("spool", writable && sink.has_space(0),
          writable ? "disk below limits.min_free_space" : "tmp/ not writable");
    auto found = store.find_case("");
    check("store", found.ok(), found.ok() ? "" : found.error().message);
    const relay::QueueRunner::Stats s = runner.stats();
    check("relay", s.relay_answered, util::cat("last attempt failed: ", s.last_reply));
    return h;
}

}  // namespace

util::Result<std::unique_ptr<server::MetricsHttp>> start_metrics(
    const config::Config& config, util::Registry& metrics, const spool::Spool& spool,
    const SpoolSink& sink, cases::CaseStore& store, const relay::QueueRunner& runner) {
    metrics.sampled("referent_queue_items",
                    "Messages waiting, by state: incoming (received, not yet processed), "
                    "outbound (due for delivery), deferred (after a temporary failure), corrupt "
                    "(quarantined for an operator).",
                    [&spool, &runner] {
                        const relay::QueueRunner::Stats s = runner.stats();
                        const auto deferred = static_cast<double>(s.deferred_items);
                        return std::vector<std::pair<util::Labels, double>>{
                            {{{"state", "incoming"}}, files_in(spool.incoming_dir(), ".env")},
                            {{{"state", "outbound"}}, static_cast<double>(s.queued) - deferred},
                            {{{"state", "deferred"}}, deferred},
                            {{{"state", "corrupt"}}, files_in(spool.corrupt_dir(), ".reason")}};
                    });
    metrics.sampled("referent_cases",
                    "Cases by state: open, and overdue (open past their due date).", [&store] {
                        auto c = store.counts();
                        if (!c) return std::vector<std::pair<util::Labels, double>>{};
                        return std::vector<std::pair<util::Labels, double>>{
                            {{{"state", "open"}}, static_cast<double>(c->open)},
                            {{{"state", "overdue"}}, static_cast<double>(c->overdue)}};
                    });
    if (config.ops.metrics_listen.empty()) return std::unique_ptr<server::MetricsHttp>();
    auto http = std::make_unique<server::MetricsHttp>(
        [&metrics] { return metrics.render(); },
        [&spool, &sink, &store, &runner] { return health(spool, sink, store, runner); });
    if (util::Status st = http->start(config.ops.metrics_listen); !st) return st.error();
    util::log_info("referentd", util::cat("metrics on ", config.ops.metrics_listen,
                                          " port=", std::to_string(http->port())));
    return http;
}

}  // namespace referent::app
