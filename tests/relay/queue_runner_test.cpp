// The relay's queue on a real spool, with a scripted transport behind the Transport seam:
// final results are settled in batches (one report and one removal for many deliveries), a
// report the store could not record keeps the items and is made again without delivering
// twice, and a temporary answer is written back and reported as not final.
#include "relay/queue_runner.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "spool/temp_dir.hpp"

namespace referent::relay {
namespace {

using namespace std::chrono_literals;
const std::chrono::system_clock::time_point t0{std::chrono::seconds(1'790'000'000)};

// Answers every delivery with `outcome`, counting the attempts per item.
class ScriptedTransport final : public Transport {
public:
    ScriptedTransport(std::atomic<int>& count, Outcome outcome)
        : count_(count), outcome_(outcome) {}
    DeliveryResult deliver(const OutboundMessage&) override {
        ++count_;
        return {outcome_, outcome_ == Outcome::delivered ? "250 2.0.0 Ok" : "451 4.3.0 later"};
    }

private:
    std::atomic<int>& count_;
    Outcome outcome_;
};

// Waits (bounded) until `done` holds.
template <class F>
bool eventually(F done) {
    for (int i = 0; i < 1000 && !done(); ++i) std::this_thread::sleep_for(10ms);
    return done();
}

class QueueRunnerTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto s = spool::Spool::open(dir_.path() / "spool", clock_, random_);
        ASSERT_TRUE(s.ok());
        spool_.emplace(std::move(s).value());
        relay_.workers = 2;
        relay_.retry = {std::chrono::seconds(60)};
    }

    std::vector<std::string> commit(int n) {
        std::vector<spool::OutgoingMessage> m;
        std::vector<std::string> ids;
        for (int i = 0; i < n; ++i) {
            spool::OutgoingMessage o;
            o.item.id = "0641a2b3c4d5e6a1b2c3o" + std::to_string(i);
            o.item.kind = "forward";
            o.item.rcpt = "helene@agents.example.fr";
            o.item.created = t0;
            o.item.next_attempt = t0;
            o.bytes = "Subject: x\r\n\r\nbody\r\n";
            ids.push_back(o.item.id);
            m.push_back(std::move(o));
        }
        EXPECT_TRUE(spool::Outgoing(*spool_).commit(m).ok());
        return ids;
    }

    std::unique_ptr<QueueRunner> runner(Outcome outcome,
                                        std::function<util::Status(const std::vector<Settled>&)> f,
                                        bool results_flushed_by_spool = false,
                                        std::function<util::Status()> sync_store = {}) {
        QueueDeps d;
        d.results_flushed_by_spool = results_flushed_by_spool;
        d.sync_store = std::move(sync_store);
        d.spool = &*spool_;
        d.relay = relay_;
        d.clock = &clock_;
        d.random = &random_;
        d.make_transport = [this, outcome]() -> util::Result<std::unique_ptr<Transport>> {
            return std::unique_ptr<Transport>(new ScriptedTransport(attempts_, outcome));
        };
        d.on_results = std::move(f);
        return std::make_unique<QueueRunner>(std::move(d));
    }

    test::TempDir dir_;
    util::ManualClock clock_{t0};
    util::SequenceRandom random_;
    std::optional<spool::Spool> spool_;
    config::Relay relay_;
    std::atomic<int> attempts_{0};
};

TEST_F(QueueRunnerTest, FinalResultsAreSettledInBatches) {
    constexpr int n = 50;
    commit(n);
    std::mutex mu;
    std::vector<std::size_t> sizes;
    std::set<std::string> reported;
    auto q = runner(Outcome::delivered, [&](const std::vector<Settled>& batch) {
        // The first report waits until every item has been delivered: the rest come as one.
        if (sizes.empty()) eventually([&] { return attempts_ == n; });
        std::lock_guard lock(mu);
        sizes.push_back(batch.size());
        for (const Settled& s : batch) {
            EXPECT_TRUE(s.final);
            EXPECT_EQ(s.result.outcome, Outcome::delivered);
            reported.insert(s.item.id);
        }
        return util::Status{};
    });
    ASSERT_TRUE(q->start().ok());
    ASSERT_TRUE(eventually([&] { return q->stats().delivered == n; }));
    q->stop();
    EXPECT_EQ(attempts_, n);
    EXPECT_EQ(reported.size(), std::size_t{n});
    EXPECT_EQ(q->stats().settled_batches, sizes.size());
    EXPECT_LE(sizes.size(), 3u) << "one report per delivery: no batching";
    EXPECT_TRUE(spool::Outgoing(*spool_).ids().empty());
    EXPECT_EQ(q->stats().queued, 0u);
}

// The store's records wait for the spool's flush (SQLite, Durability::caller): the items go only
// after a covering flush begun once the results were recorded; with nobody else flushing, the
// settling thread makes it itself.
TEST_F(QueueRunnerTest, ItemsOutliveTheirRecordsUntilAFlushCoversThem) {
    commit(4);
    std::atomic<std::uint64_t> ticket_at_record{0};
    std::atomic<bool> items_there_at_record{false};
    auto q = runner(
        Outcome::delivered,
        [&](const std::vector<Settled>&) {
            ticket_at_record = spool_->flush_ticket();
            items_there_at_record = !spool::Outgoing(*spool_).ids().empty();
            return util::Status{};
        },
        true);
    ASSERT_TRUE(q->start().ok());
    ASSERT_TRUE(eventually([&] { return q->stats().delivered == 4; }));
    q->stop();
    EXPECT_TRUE(items_there_at_record);
    EXPECT_GT(spool_->flush_ticket(), ticket_at_record.load())
        << "a covering flush after the last record";
    EXPECT_TRUE(spool::Outgoing(*spool_).ids().empty());
}

// With a store that can sync its own log (an fdatasync of SQLite's WAL), nobody else flushing:
// that log is synced after the records and before the removals, and the file system is not
// flushed. If the log cannot be synced by itself, a covering flush of its own instead.
TEST_F(QueueRunnerTest, ASettlementSyncsTheStoresLogRatherThanTheFileSystem) {
    for (const bool log_ok : {true, false}) {
        SCOPED_TRACE(log_ok ? "log synced" : "log sync fails");
        commit(3);
        std::atomic<int> recorded{0}, synced{0};
        std::atomic<bool> in_order{true};
        const std::uint64_t before = spool_->flush_ticket();
        auto q = runner(
            Outcome::delivered,
            [&](const std::vector<Settled>& batch) {
                recorded += static_cast<int>(batch.size());
                return util::Status{};
            },
            true,
            [&]() -> util::Status {
                ++synced;
                // After the records, while their items are still there.
                if (recorded == 0 || spool::Outgoing(*spool_).ids().empty()) in_order = false;
                if (log_ok) return {};
                return util::Error::temporary("fdatasync: EIO");
            });
        ASSERT_TRUE(q->start().ok());
        ASSERT_TRUE(eventually([&] { return q->stats().delivered == 3; }));
        q->stop();
        EXPECT_GE(synced.load(), 1);
        EXPECT_TRUE(in_order);
        if (log_ok)
            EXPECT_EQ(spool_->flush_ticket(), before) << "no covering flush";
        else
            EXPECT_GT(spool_->flush_ticket(), before) << "a covering flush instead";
        EXPECT_TRUE(spool::Outgoing(*spool_).ids().empty());
    }
}

TEST_F(QueueRunnerTest, UnrecordedResultsKeepTheirItemsAndAreReportedAgain) {
    constexpr int n = 5;
    commit(n);
    std::atomic<int> calls{0};
    std::atomic<bool> store_up{false};
    std::set<std::string> reported;
    auto q = runner(Outcome::delivered, [&](const std::vector<Settled>& batch) {
        ++calls;
        if (!store_up) return util::Status(util::Error::temporary("database is locked"));
        for (const Settled& s : batch) reported.insert(s.item.id);
        return util::Status{};
    });
    ASSERT_TRUE(q->start().ok());
    ASSERT_TRUE(eventually([&] { return attempts_ == n && calls >= 1; }));
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(spool::Outgoing(*spool_).ids().size(), std::size_t{n});  // kept
    EXPECT_EQ(q->stats().delivered, 0u);
    store_up = true;
    ASSERT_TRUE(eventually([&] { return q->stats().delivered == n; }));
    q->stop();
    EXPECT_EQ(attempts_, n);  // delivered once each
    EXPECT_EQ(reported.size(), std::size_t{n});
    EXPECT_TRUE(spool::Outgoing(*spool_).ids().empty());
}

TEST_F(QueueRunnerTest, UnrecordedResultsAtStopStayForTheNextStart) {
    commit(3);
    auto q = runner(Outcome::delivered, [](const std::vector<Settled>&) {
        return util::Status(util::Error::temporary("store down"));
    });
    ASSERT_TRUE(q->start().ok());
    ASSERT_TRUE(eventually([&] { return attempts_ == 3; }));
    q->stop();  // returns although the results were never recorded
    EXPECT_EQ(spool::Outgoing(*spool_).ids().size(), 3u);
}

TEST_F(QueueRunnerTest, TemporaryAnswerIsWrittenBackAndReportedNotFinal) {
    const auto ids = commit(1);
    std::mutex mu;
    std::vector<Settled> seen;
    auto q = runner(Outcome::temporary, [&](const std::vector<Settled>& batch) {
        std::lock_guard lock(mu);
        seen.insert(seen.end(), batch.begin(), batch.end());
        return util::Status{};
    });
    ASSERT_TRUE(q->start().ok());
    ASSERT_TRUE(eventually([&] { return q->stats().deferred == 1; }));
    q->stop();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_FALSE(seen[0].final);
    auto item = spool::Outgoing(*spool_).item(ids[0]);
    ASSERT_TRUE(item.ok());
    EXPECT_EQ(item->attempts, 1u);
    EXPECT_EQ(item->last_error, "451 4.3.0 later");
    EXPECT_GT(item->next_attempt, t0);
}

}  // namespace
}  // namespace referent::relay
