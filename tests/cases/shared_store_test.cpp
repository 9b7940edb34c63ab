// Two gateways on one PostgreSQL: two stores, each on its own connection, record at the same
// time. Each race is made deterministic: the first store holds its transaction open (a group,
// as the processor's batches do) while the second one's call runs until PostgreSQL makes it
// wait for a lock; then the first commits. The second must then decide on what the first
// committed: a citizen's follow-up joins the case of the first message (in either order), the
// round robin goes on to the next agent, and two gateways starting together on an empty
// database both migrate it. SQLite holds one writer at a time, so these run on PostgreSQL only.
#include <chrono>
#include <future>
#include <thread>

#include "cases/schema.hpp"
#include "store_fixture.hpp"

namespace referent::cases::test {
namespace {

class SharedStore : public ::testing::Test {
protected:
    void SetUp() override {
        setenv("TZ", "Europe/Paris", 1);
        tzset();
        env_ = std::make_unique<StoreEnv>(Engine::postgresql);
        if (!env_->available()) {
            skip_loudly_without_postgresql();
            GTEST_SKIP() << "REFERENT_TEST_PG not set";
        }
        a_ = open();
        b_ = open();
        auto admin = sql::open_postgresql(std::getenv("REFERENT_TEST_PG"));
        ASSERT_TRUE(admin.ok()) << admin.error().message;
        admin_ = std::move(admin).value();
    }

    std::unique_ptr<SqlCaseStore> open() {
        auto s = env_->store(config_, clock_);
        EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
        return s.ok() ? std::move(s).value() : nullptr;
    }

    static InboundRequest from(const std::string& sender, const std::string& spool_id,
                               const std::string& service = "etat-civil") {
        InboundRequest r;
        r.spool_id = spool_id;
        r.service = service;
        r.keys.sender = sender;
        r.message_id = spool_id + "@client.example";
        r.subject = "Demande";
        r.kind = "human";
        r.raw = "Subject: Demande\r\n\r\nBonjour\r\n";
        return r;
    }

    // Runs `first` on store a inside an open transaction; meanwhile `second` on store b, until
    // b's connection waits for a lock a holds; then a commits. Returns both outcomes.
    std::pair<InboundOutcome, InboundOutcome> race(const InboundRequest& first,
                                                   const InboundRequest& second) {
        auto pid = b_->db().query("SELECT pg_backend_pid()", {});
        EXPECT_TRUE(pid.ok());
        const std::int64_t b_pid = pid.ok() ? sql::as_int(pid->front()[0]) : 0;
        InboundOutcome one;
        std::future<util::Result<InboundOutcome>> two;
        util::Status group = a_->group([&] {
            auto o = a_->record_inbound(first);
            EXPECT_TRUE(o.ok()) << (o.ok() ? "" : o.error().message);
            if (o.ok()) one = std::move(o).value();
            two = std::async(std::launch::async, [&] { return b_->record_inbound(second); });
            EXPECT_TRUE(waits_for_a_lock(b_pid)) << "the second call never waited for the first";
        });
        EXPECT_TRUE(group.ok());
        util::Result<InboundOutcome> o2 = two.get();
        EXPECT_TRUE(o2.ok()) << (o2.ok() ? "" : o2.error().message);
        return {one, o2.ok() ? std::move(o2).value() : InboundOutcome{}};
    }

    bool waits_for_a_lock(std::int64_t pid) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (std::chrono::steady_clock::now() < deadline) {
            auto r =
                admin_->query("SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", {pid});
            if (r.ok() && !r->empty() && sql::as_text(r->front()[0]) == "Lock") return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return false;
    }

    std::shared_ptr<config::Config> config_ = sample_config();
    util::ManualClock clock_{paris(2026, 3, 4)};
    std::unique_ptr<StoreEnv> env_;
    std::unique_ptr<SqlCaseStore> a_, b_;
    std::unique_ptr<sql::Db> admin_;
};

TEST_F(SharedStore, FollowUpWaitingForItsFirstMessageJoinsItsCase) {
    InboundRequest follow_up = from("elodie@example.fr", "gw2/s2");
    follow_up.keys.references = {"gw1/s1@client.example"};
    auto [first, second] = race(from("elodie@example.fr", "gw1/s1"), follow_up);
    ASSERT_TRUE(first.case_ && second.case_);
    EXPECT_TRUE(first.created);
    EXPECT_FALSE(second.created) << second.reason;
    EXPECT_EQ(second.rule, ThreadRule::reference);
    EXPECT_EQ(second.case_->id, first.case_->id);
    EXPECT_EQ(second.case_->referent, first.case_->referent);
}

TEST_F(SharedStore, FirstMessageWaitingForItsFollowUpJoinsItsCase) {
    InboundRequest follow_up = from("elodie@example.fr", "gw2/s2");
    follow_up.keys.references = {"gw1/s1@client.example"};
    auto [second, first] = race(follow_up, from("elodie@example.fr", "gw1/s1"));
    ASSERT_TRUE(first.case_ && second.case_);
    EXPECT_TRUE(second.created);
    EXPECT_FALSE(first.created) << first.reason;
    EXPECT_EQ(first.case_->id, second.case_->id);
}

TEST_F(SharedStore, NewCasesOfTwoGatewaysFollowTheRoundRobin) {
    // urbanisme: round robin over lea, hugo.
    auto [one, two] = race(from("c1@example.fr", "gw1/u1", "urbanisme"),
                           from("c2@example.fr", "gw2/u2", "urbanisme"));
    ASSERT_TRUE(one.case_ && two.case_);
    EXPECT_EQ(one.case_->referent, "lea");
    EXPECT_EQ(two.case_->referent, "hugo");
    EXPECT_EQ(one.case_->number, "URB-2026-000001");
    EXPECT_EQ(two.case_->number, "URB-2026-000002");
}

TEST_F(SharedStore, GatewaysStartingTogetherOnAnEmptyDatabaseBothMigrateIt) {
    for (int round = 0; round < 20; ++round) {
        StoreEnv empty(Engine::postgresql);  // a fresh schema
        std::vector<std::future<util::Status>> starts;
        std::promise<void> go;
        std::shared_future<void> signal = go.get_future().share();
        for (int g = 0; g < 2; ++g)
            starts.push_back(std::async(std::launch::async, [&empty, signal]() -> util::Status {
                auto db = empty.db();
                if (!db) return db.error();
                signal.wait();
                return migrate(**db, Instant{});
            }));
        go.set_value();
        for (auto& s : starts) {
            util::Status st = s.get();
            ASSERT_TRUE(st.ok()) << "round " << round << ": " << st.error().message;
        }
    }
}

}  // namespace
}  // namespace referent::cases::test
