#include "app/daemon.hpp"

#include <malloc.h>
#include <sys/stat.h>

#include <csignal>
#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

#include "app/listeners.hpp"
#include "app/observability.hpp"
#include "app/reload.hpp"
#include "app/spool_sink.hpp"
#include "app/systemd.hpp"
#include "cases/open_store.hpp"
#include "cases/token.hpp"
#include "mail/template.hpp"
#include "ops/check.hpp"
#include "pipeline/deadlines.hpp"
#include "pipeline/processor.hpp"
#include "relay/queue_runner.hpp"
#include "server/listener.hpp"
#include "server/recipient_policy.hpp"
#include "server/tls.hpp"
#include "spool/posix_io.hpp"
#include "spool/spool.hpp"
#include "spool/spool_writer.hpp"
#include "util/cat.hpp"
#include "util/clock.hpp"
#include "util/log.hpp"
#include "util/random.hpp"

namespace referent::app {

namespace {

using server::asio::io_context;

constexpr int mmap_threshold = 1 << 20;  // octets: larger blocks are mmapped
// Free octets at the top of an arena before glibc gives them back. Setting M_MMAP_THRESHOLD
// also freezes the trim threshold at its 128 KiB default, so each arena shrank and grew again
// around every 100 KB message (page faults, zeroed pages, TLB shootdowns across the threads).
// Measured with the 100 KB load of bench/throughput.sh (5,000 messages, alternating runs):
// referentd's CPU 27-28 s with the default, 19-23 s with 16 MiB, 19-20 s with 4 MiB; peak RSS
// of the memory run 181 MiB with 16 MiB.
constexpr int trim_threshold = 4 << 20;

// glibc raises its mmap threshold to the size of each mmapped block freed (up to 32 MiB), so
// after the first large message every later 10 MB buffer (a message read, parsed, rendered or
// relayed) comes from an arena, where a freed block stays resident until everything above it
// is free too: the peak RSS then follows the arenas' fragmentation across the threads, not
// what is live. A fixed threshold keeps such buffers in mmapped blocks that go back to the
// kernel when freed. Measured with bench/throughput.sh's memory run (100 concurrent 10 MB
// messages, DATA already spilled to tmp/): peak RSS 344-372 MiB with the dynamic threshold,
// 165-169 MiB with a fixed one of 256 KiB, 1 MiB or 4 MiB; fewer arenas (M_ARENA_MAX 1 or 2)
// gave 246-273 MiB alone and nothing more with the fixed threshold.
void tune_malloc() {
    ::mallopt(M_MMAP_THRESHOLD, mmap_threshold);
    ::mallopt(M_TRIM_THRESHOLD, trim_threshold);
}

// Citizens' replies and bounces come in through the public listener, agents' replies through
// the internal one: a token is valid only on the listener its purpose belongs to.
bool purpose_belongs(cases::TokenPurpose purpose, config::Role role) {
    if (role == config::Role::internal) return purpose == cases::TokenPurpose::agent_reply;
    return purpose == cases::TokenPurpose::citizen_reply || purpose == cases::TokenPurpose::bounce;
}

server::TokenCheck token_check(std::shared_ptr<const cases::TokenKeys> keys) {
    return [keys = std::move(keys)](std::string_view token, config::Role role) {
        std::optional<cases::TokenClaims> claims = keys->verify(token);
        return claims && purpose_belongs(claims->purpose, role);
    };
}

// Stops accepting, asks connections to finish, and forces them after the grace period or at
// a second SIGTERM. Once the last connection is gone nothing is left waiting on the io
// context (signals and watchdog included), so run() returns.
class Stopper {
public:
    Stopper(io_context& io, ListenerSet& listeners, server::ConnectionRegistry& registry,
            std::chrono::seconds grace, SystemdNotifier& notifier, std::function<void()> reload)
        : listeners_(listeners),
          registry_(registry),
          grace_(grace),
          notifier_(notifier),
          reload_(std::move(reload)),
          timer_(io),
          signals_(io, SIGTERM, SIGINT, SIGHUP) {}

    void wait_signals() {
        signals_.async_wait([this](boost::system::error_code ec, int signo) {
            if (ec) return;
            if (signo == SIGHUP) {
                if (!stopping_) reload_();  // on the io thread, between two events
            } else if (!stopping_)
                stop();
            else
                force("second signal");
            if (!done_) wait_signals();
        });
    }

    // After run(): the stop is under way and will complete; a late SIGTERM must not kill the
    // process halfway through draining the spool writer (the default action once Asio lets go
    // of the signals).
    void ignore_further_signals() {
        boost::system::error_code ec;
        signals_.clear(ec);
        std::signal(SIGTERM, SIG_IGN);
        std::signal(SIGINT, SIG_IGN);
    }

private:
    void stop() {
        stopping_ = true;
        notifier_.stopping();  // before run() can return: no watchdog ping holds it
        util::log_info("referentd", "stopping: no new connections; finishing transactions");
        listeners_.close_all();
        registry_.on_empty([this] { finish(); });
        registry_.shutdown_all();
        if (registry_.size() == 0) return finish();
        timer_.expires_after(grace_);
        timer_.async_wait([this](boost::system::error_code ec) {
            if (!ec) force("grace period over");
        });
    }

    void force(const char* why) {
        util::log_warning("referentd", std::string(why) + ": closing " +
                                           std::to_string(registry_.size()) + " connections");
        registry_.force_all();
    }

    void finish() {
        done_ = true;
        timer_.cancel();
        signals_.cancel();
    }

    ListenerSet& listeners_;
    server::ConnectionRegistry& registry_;
    std::chrono::seconds grace_;
    SystemdNotifier& notifier_;
    std::function<void()> reload_;
    server::asio::steady_timer timer_;
    server::asio::signal_set signals_;
    bool stopping_ = false;
    bool done_ = false;
};

}  // namespace

namespace {

// TLS files first: a start that fails on them leaves the spool untouched.
util::Result<std::unique_ptr<server::asio::ssl::context>> load_tls(const config::Gateway& gw) {
    if (!gw.tls) return std::unique_ptr<server::asio::ssl::context>();
    return server::make_tls_context(*gw.tls);
}

// recover() logs what it found; committed messages wait in incoming/ for the processor.
util::Result<spool::Spool> open_spool(const config::Gateway& gw, util::Clock& clock,
                                      util::Random& random) {
    auto spool = spool::Spool::open(gw.spool, clock, random);
    if (!spool) return spool.error();
    if (auto report = spool->recover(); !report)
        return util::Error::temporary("spool recovery failed: " + report.error().message);
    return spool;
}

util::LogLevel log_level(config::LogLevelName n) {
    switch (n) {
        case config::LogLevelName::debug:
            return util::LogLevel::debug;
        case config::LogLevelName::warning:
            return util::LogLevel::warning;
        case config::LogLevelName::error:
            return util::LogLevel::error;
        case config::LogLevelName::info:
            break;
    }
    return util::LogLevel::info;
}

// An SQLite store on the spool's file system needs no fsync of its own at each commit: the
// spool's covering flushes (spool.hpp: syncfs, then a directory fsync) write its log too, and
// the processor and the relay wait for one before they remove what a commit stands for
// (sql::Durability::caller). Elsewhere, or on PostgreSQL, each commit is durable by itself.
bool store_on_spool_fs(const config::Config& config) {
    if (config.store.postgresql || !config.store.sqlite || *config.store.sqlite == ":memory:")
        return false;
    const std::filesystem::path db = *config.store.sqlite;
    struct stat spool_st {
    }, db_st{};
    if (::stat(config.gateway.spool.c_str(), &spool_st) != 0) return false;
    // The file itself when it exists (a symbolic link is followed, as SQLite does), else the
    // directory it will be created in.
    if (::stat(db.c_str(), &db_st) != 0) {
        const std::filesystem::path dir = db.has_parent_path() ? db.parent_path() : ".";
        if (::stat(dir.c_str(), &db_st) != 0) return false;
    }
    return spool_st.st_dev == db_st.st_dev;
}

// For an SQLite store whose commits wait for the spool's flushes: an fdatasync of its log
// (the WAL, which SQLite keeps next to the database's real path while it is open) makes them
// durable without flushing the whole file system. Empty otherwise.
std::function<util::Status()> store_log_sync(const config::Config& config, bool flushed_by_spool) {
    if (!flushed_by_spool) return {};
    std::error_code ec;
    const std::filesystem::path db = std::filesystem::canonical(*config.store.sqlite, ec);
    if (ec) return {};  // the covering flushes still do
    return [wal = db.string() + "-wal"] { return spool::posix::fdatasync_path(wal); };
}

int environment_failure(const util::Error& e) {
    util::log_error("referentd", e.message);
    return 1;
}

// What the operator must fix before a restart can help (systemd does not restart on 2).
int configuration_failure(const util::Error& e) {
    util::log_error("referentd", e.message);
    return 2;
}

}  // namespace

int run_daemon(const config::Config& config) {
    std::signal(SIGPIPE, SIG_IGN);
    // A file size limit (RLIMIT_FSIZE) must fail the write that passes it (EFBIG: 451 for
    // that message), not kill the daemon, as Postfix's programs do.
    std::signal(SIGXFSZ, SIG_IGN);
    tune_malloc();
    util::SystemClock clock;
    util::SystemRandom random;
    util::Registry metrics;  // before everything that counts into it
    const config::Gateway& gw = config.gateway;

    auto tls = load_tls(gw);
    if (!tls) return environment_failure(tls.error());
    auto keys = cases::TokenKeys::load(gw.secret_files);
    if (!keys) return configuration_failure(keys.error());
    auto key_ring = std::make_shared<const cases::TokenKeys>(std::move(*keys));
    server::TokenCheck check_token = token_check(key_ring);
    auto templates = mail::TemplateSet::load(config.organisation);
    if (!templates) return configuration_failure(templates.error());
    auto spool = open_spool(gw, clock, random);
    if (!spool) return environment_failure(spool.error());
    // The case store opens (and migrates) at start, so a wrong path, an unreachable PostgreSQL
    // or a schema newer than this binary stops the daemon before it accepts any mail.
    const bool flushed_by_spool = store_on_spool_fs(config);
    auto store = cases::open_case_store(
        std::make_shared<const config::Config>(config), clock,
        flushed_by_spool ? cases::sql::Durability::caller : cases::sql::Durability::full);
    if (!store) return environment_failure(store.error());
    util::log_info("referentd",
                   config.store.postgresql
                       ? std::string("store: postgresql")
                       : util::cat("store: sqlite ", config.store.sqlite.value_or(""),
                                   flushed_by_spool ? " (on the spool's file system: its commits "
                                                      "are flushed with the spool's)"
                                                    : ""));

    // Outgoing: due items leave through the configured transport, one per relay worker.
    relay::QueueDeps q;
    q.metrics = &metrics;
    q.spool = &*spool;
    q.relay = config.relay;
    q.clock = &clock;
    q.random = &random;
    q.make_transport = [&config] {
        return relay::make_transport(config.relay, config.gateway.hostname);
    };
    // Set once the processor exists (below): the relay reports its attempts to it.
    std::function<util::Status(const std::vector<relay::Settled>&)> report;
    q.on_results = [&report](const std::vector<relay::Settled>& done) {
        return report ? report(done) : util::Status{};
    };
    q.results_flushed_by_spool = flushed_by_spool;
    const auto sync_store = store_log_sync(config, flushed_by_spool);
    q.sync_store = sync_store;
    relay::QueueRunner runner(std::move(q));

    // Incoming: each committed message goes through the processor.
    pipeline::ProcessorDeps p;
    p.metrics = &metrics;
    p.config = std::make_shared<const config::Config>(config);
    p.spool = &*spool;
    p.store = store->get();
    p.keys = key_ring.get();
    p.templates = &*templates;
    p.clock = &clock;
    p.on_outgoing = [&runner](const std::vector<std::string>& ids) { runner.add(ids); };
    p.store_flushed_by_spool = flushed_by_spool;
    p.sync_store = sync_store;
    pipeline::Processor processor(p);  // p stays: the scheduler's deps
    report = [&processor](const std::vector<relay::Settled>& done) {
        std::vector<pipeline::Processor::DeliveryReport> reports;
        for (const relay::Settled& s : done)
            reports.push_back(
                {&s.item, s.result.outcome == relay::Outcome::delivered, s.final, s.result.reply});
        return processor.delivery_results(reports);
    };
    // The relay's workers call into the processor: on every way out of this function they are
    // joined before the processor is destroyed.
    struct StopRelayFirst {
        relay::QueueRunner& runner;
        ~StopRelayFirst() { runner.stop(); }
    } stop_relay_first{runner};
    // Both ends are wired before either starts: no thread sees a half-built neighbour.
    if (auto st = runner.start(); !st) return environment_failure(st.error());
    processor.start(config.gateway.processor_workers);  // 0: mail waits in incoming/
    // Reminders, escalations and the purge, every ops.deadline_check, on the current config.
    pipeline::Scheduler scheduler([&processor] { return processor.deps(); });
    scheduler.start();

    spool::SpoolWriter writer(*spool, {});
    SpoolSink sink(*spool, writer, clock, gw.hostname, gw.limits.min_free_space, metrics);
    sink.on_committed([&processor](const std::string& id) { processor.enqueue(id); });
    io_context io(1);
    server::ConnectionRegistry registry(gw.limits.max_connections,
                                        gw.limits.max_connections_per_ip);
    ListenerSet listeners(io, sink, registry, tls->get(), metrics);
    if (auto st = listeners.apply(config, check_token, false); !st)
        return environment_failure(st.error());
    auto http = start_metrics(config, metrics, *spool, sink, **store, runner);
    if (!http) return environment_failure(http.error());

    // Live reload (SIGHUP): everything a configuration brings stays alive for good, as
    // sessions and batches in flight may still use an older one; reloads are rare.
    std::vector<std::shared_ptr<const void>> generations;
    auto running = std::make_shared<const config::Config>(config);
    SystemdNotifier notifier(io);
    auto reload = [&] {
        notifier.reloading();
        const std::string path = running->source_file;
        util::log_info("referentd", "SIGHUP: reloading " + path);
        auto refuse = [&](const std::string& why) {
            util::log_error("referentd", "reload refused, the running configuration stays: " + why);
            notifier.reloaded(listeners.size(), false);
        };
        ops::Checked checked = ops::load_checked(path);
        if (!checked.config) {
            for (const auto& problem : checked.problems) util::log_error("referentd", problem);
            return refuse(std::to_string(checked.problems.size()) + " problem(s) above");
        }
        if (auto keys_changed = restart_only_changes(*running, *checked.config);
            !keys_changed.empty()) {
            std::string list;
            for (const auto& k : keys_changed) list += (list.empty() ? "" : ", ") + k;
            return refuse("changed keys need a restart: " + list);
        }
        auto next = std::make_shared<const config::Config>(std::move(*checked.config));
        auto next_templates = mail::TemplateSet::load(next->organisation);
        auto next_keys = cases::TokenKeys::load(next->gateway.secret_files);
        if (!next_templates || !next_keys)
            return refuse((next_keys ? next_templates.error() : next_keys.error()).message);
        auto templates_ptr = std::make_shared<const mail::TemplateSet>(std::move(*next_templates));
        auto keys_ptr = std::make_shared<const cases::TokenKeys>(std::move(*next_keys));
        if (auto st = listeners.apply(*next, token_check(keys_ptr), true); !st)
            return refuse(st.error().message);
        // Committed: from here every new decision uses the new configuration.
        (*store)->set_config(next);
        processor.reconfigure(next, templates_ptr.get(), keys_ptr.get());
        generations.push_back(next);
        generations.push_back(templates_ptr);
        generations.push_back(keys_ptr);
        running = next;
        util::set_log_level(log_level(next->ops.log_level));
        util::log_info("referentd",
                       util::cat("reloaded: ", std::to_string(listeners.size()), " listeners, ",
                                 std::to_string(next->services.size()), " services, ",
                                 std::to_string(next->agents.size()), " agents"));
        notifier.reloaded(listeners.size(), true);
    };
    Stopper stopper(io, listeners, registry, gw.limits.shutdown_grace, notifier, reload);
    stopper.wait_signals();
    listeners.start_all();
    notifier.ready(listeners.size());  // READY=1, then watchdog pings from this loop
    util::log_info("referentd", "ready");

    io.run();
    stopper.ignore_further_signals();
    if (*http) (*http)->stop();
    writer.stop();
    scheduler.stop();
    processor.stop();
    runner.stop();
    auto stats = writer.stats();
    util::log_info("referentd", "stopped: messages=" + std::to_string(stats.messages) +
                                    " failed=" + std::to_string(stats.failed) +
                                    " batches=" + std::to_string(stats.batches) +
                                    " fsyncs=" + std::to_string(stats.fsyncs));
    const auto done = processor.stats();
    util::log_info("referentd", util::cat("processor: processed=", std::to_string(done.processed),
                                          " retried=", std::to_string(done.retried),
                                          " quarantined=", std::to_string(done.quarantined),
                                          " items=", std::to_string(done.items),
                                          " batches=", std::to_string(done.batches)));
    return 0;
}

}  // namespace referent::app
