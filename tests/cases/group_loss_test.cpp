// A group whose transaction the database rolls back under it (SQLite does so by itself on an
// I/O error or a full disk, whatever savepoint the failing statement ran in) must fail whole:
// no later call of the group may commit on a transaction of its own, and nothing of the group
// is kept. Before this was checked, the calls after the loss committed one by one, and when
// the last one's commit failed the group's COMMIT went through on an empty transaction: the
// processor then sent forwards whose case and delivery rows had been rolled back, and the
// next message took the same case number (seen under libfiu: test_disk_faults.py).
// A real SQLite file; the full disk is PRAGMA max_page_count on the store's own connection.
#include <string>

#include "store_fixture.hpp"

namespace referent::cases::test {
namespace {

InboundRequest request(const std::string& sender, const std::string& spool_id,
                       std::size_t raw_size = 64) {
    InboundRequest r;  // (sizes below are octets of the raw message)
    r.spool_id = spool_id;
    r.service = "etat-civil";
    r.keys.sender = sender;
    r.message_id = spool_id + "@client.example";
    r.subject = "Demande";
    r.kind = "human";
    r.raw = "Subject: x\r\n\r\n" + std::string(raw_size, 'b');
    return r;
}

class GroupLoss : public ::testing::Test {
protected:
    void SetUp() override {
        // Migrated once, then opened again on a connection that may not grow past a margin.
        ASSERT_TRUE(env_.store(config_, clock_).ok());
        auto db = env_.db();
        ASSERT_TRUE(db.ok());
        auto pages = (*db)->query("PRAGMA page_count", {});
        ASSERT_TRUE(pages.ok() && !pages->empty());
        const std::int64_t limit = sql::as_int((*pages)[0][0]) + 64;  // small rows fit
        ASSERT_TRUE((*db)->script("PRAGMA max_page_count = " + std::to_string(limit)).ok());
        auto s = SqlCaseStore::open(std::move(db).value(), config_, clock_);
        ASSERT_TRUE(s.ok()) << s.error().message;
        store_ = std::move(s).value();
    }

    std::shared_ptr<config::Config> config_ = sample_config();
    util::ManualClock clock_{paris(2026, 3, 2)};
    StoreEnv env_{Engine::sqlite};
    std::unique_ptr<SqlCaseStore> store_;
};

TEST_F(GroupLoss, CallsAfterTheDatabaseRolledTheGroupBackFailAndNothingIsKept) {
    util::Status first, full, after;
    bool lost = false;
    const util::Status g = store_->group([&] {
        auto a = store_->record_inbound(request("anne@example.fr", "s1"));
        first = a.ok() ? util::Status{} : util::Status(a.error());
        // 4 MiB cannot fit: SQLITE_FULL. A one-row INSERT without RETURNING or triggers has no
        // statement journal, so SQLite rolls the whole transaction back, not just the call.
        full = store_->record_event(std::nullopt, "note", std::string(4 << 20, 'x'));
        lost = !store_->db().in_transaction();
        auto c = store_->record_inbound(request("carl@example.fr", "s3"));
        after = c.ok() ? util::Status{} : util::Status(c.error());
    });
    ASSERT_TRUE(first.ok()) << first.error().message;
    ASSERT_FALSE(full.ok());
    EXPECT_TRUE(full.error().is_temporary()) << full.error().message;
    ASSERT_TRUE(lost) << "SQLite kept the transaction: this test no longer shows the case";
    // The call after the loss did not run on a transaction of its own.
    ASSERT_FALSE(after.ok());
    EXPECT_TRUE(after.error().is_temporary());
    ASSERT_FALSE(g.ok());
    EXPECT_TRUE(g.error().is_temporary()) << g.error().message;

    // Nothing of the group was kept: each message is new, and the numbers start at 1.
    for (const char* id : {"s1", "s3"}) {
        auto o = store_->record_inbound(request(std::string(id) + "@example.fr", id));
        ASSERT_TRUE(o.ok()) << o.error().message;
        EXPECT_FALSE(o->replay) << id << " was kept from the failed group";
    }
    EXPECT_EQ(store_->find_case("EC-2026-000001")->value_or(Case{}).citizen.address,
              "s1@example.fr");
    // And the store groups again as usual.
    EXPECT_TRUE(store_
                    ->group([&] {
                        EXPECT_TRUE(store_->record_inbound(request("d@example.fr", "s4")).ok());
                    })
                    .ok());
    EXPECT_TRUE(store_->record_inbound(request("d@example.fr", "s4"))->replay);
}

}  // namespace
}  // namespace referent::cases::test
