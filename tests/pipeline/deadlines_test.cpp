// Deadlines over French public holidays, with an injected clock, on a real spool and a real
// SQLite store: the reminder goes one working day before the due date (across Easter Monday,
// Ascension Thursday and 14 July), once; the escalation to the manager the day after the due
// date, once (a reminder a crash lost before outgoing/ had it is made again); a case already
// answered gets neither; a reopened case, with its new due date, may be reminded again; two
// gateways sharing the store send each notice once.
#include "pipeline/deadlines.hpp"

#include <gtest/gtest.h>

#include "cases/sql_case_store.hpp"
#include "gateway_config.hpp"
#include "mail/message.hpp"
#include "spool/temp_dir.hpp"

namespace referent::pipeline {
namespace {

using namespace std::chrono;

// 10:00 in Paris (CEST in these months).
system_clock::time_point paris(int y, unsigned m, unsigned d) {
    return sys_days{year{y} / month{m} / day{d}} + hours{8};
}

// The shared gateway, with the French calendar, a response time and a manager.
std::shared_ptr<config::Config> deadline_config(std::uint32_t response_days) {
    auto c = test::gateway_config();
    c->organisation.holidays = "fr";
    c->services[0].response_days = response_days;
    c->services[0].manager = "chef@mairie.example.fr";
    return c;
}

class DeadlinesTest : public ::testing::Test {
protected:
    void SetUp() override {
        setenv("TZ", "Europe/Paris", 1);
        tzset();
        mail::init();
    }

    void open(std::uint32_t response_days) {
        config_ = deadline_config(response_days);
        auto s = spool::Spool::open(dir_.path() / "spool", clock_, random_);
        ASSERT_TRUE(s.ok());
        spool_.emplace(std::move(s).value());
        auto db = cases::sql::open_sqlite((dir_.path() / "cases.db").string());
        ASSERT_TRUE(db.ok());
        auto st = cases::SqlCaseStore::open(std::move(db).value(), config_, clock_);
        ASSERT_TRUE(st.ok()) << st.error().message;
        store_ = std::move(st).value();
        auto t = mail::TemplateSet::load(config_->organisation);
        ASSERT_TRUE(t.ok());
        templates_.emplace(std::move(t).value());
        deps_.config = config_;
        deps_.spool = &*spool_;
        deps_.store = store_.get();
        deps_.keys = &keys_;
        deps_.templates = &*templates_;
        deps_.clock = &clock_;
        deps_.on_outgoing = [this](const std::vector<std::string>& ids) {
            for (const auto& id : ids) woken_.push_back(id);
        };
    }

    cases::Case open_case(const std::string& citizen, const std::string& spool_id) {
        cases::InboundRequest r;
        r.spool_id = spool_id;
        r.service = "etat-civil";
        r.keys.sender = citizen;
        r.message_id = spool_id + "@example.org";
        r.subject = "Demande";
        r.kind = "human";
        r.raw = "Subject: Demande\r\n\r\nBonjour\r\n";
        auto o = store_->record_inbound(r);
        EXPECT_TRUE(o.ok() && o->case_);
        return *o->case_;
    }

    // The kinds and recipients of the items a pass at `day` queues.
    std::vector<std::string> pass_at(int y, unsigned m, unsigned d) {
        clock_.set(paris(y, m, d));
        const std::size_t before = woken_.size();
        auto n = check_deadlines(deps_);
        EXPECT_TRUE(n.ok()) << (n.ok() ? "" : n.error().message);
        std::vector<std::string> out;
        spool::Outgoing og(*spool_);
        for (std::size_t i = before; i < woken_.size(); ++i) {
            auto item = og.item(woken_[i]);
            EXPECT_TRUE(item.ok());
            if (item.ok()) out.push_back(item->kind + " " + item->case_number + " " + item->rcpt);
        }
        return out;
    }

    static cases::Day day(int y, unsigned m, unsigned d) {
        return year_month_day{year{y}, month{m}, std::chrono::day{d}};
    }

    test::TempDir dir_;
    util::ManualClock clock_{paris(2026, 4, 1)};
    util::SequenceRandom random_;
    std::shared_ptr<config::Config> config_;
    cases::TokenKeys keys_ = cases::TokenKeys::from_secrets({std::string(32, 'k')});
    std::optional<spool::Spool> spool_;
    std::unique_ptr<cases::SqlCaseStore> store_;
    std::optional<mail::TemplateSet> templates_;
    ProcessorDeps deps_;
    std::vector<std::string> woken_;
};

TEST_F(DeadlinesTest, ReminderTheWorkingDayBeforeAcrossEasterMondayThenEscalationOnce) {
    open(3);
    clock_.set(paris(2026, 4, 1));  // Wednesday 1 April 2026
    const cases::Case c = open_case("elodie@example.org", "s1");
    // Thu 2, Fri 3, (Sun 5 Easter, Mon 6 Easter Monday), Tue 7.
    EXPECT_EQ(c.due, day(2026, 4, 7));
    EXPECT_EQ(pass_at(2026, 4, 2), std::vector<std::string>{});  // due in two working days
    const std::string reminder = "reminder " + c.number + " helene@agents.example.fr";
    EXPECT_EQ(pass_at(2026, 4, 3), std::vector<std::string>{reminder});  // Friday: next is Tue
    EXPECT_EQ(pass_at(2026, 4, 3), std::vector<std::string>{});          // once
    // A crash after the store recorded the reminder and before outgoing/ had it: made again.
    ASSERT_TRUE(spool::Outgoing(*spool_).remove(woken_.back()).ok());
    EXPECT_EQ(pass_at(2026, 4, 3), std::vector<std::string>{reminder});
    EXPECT_EQ(pass_at(2026, 4, 7), std::vector<std::string>{});  // due today: reminded
    const std::string escalation = "escalation " + c.number + " chef@mairie.example.fr";
    EXPECT_EQ(pass_at(2026, 4, 8), std::vector<std::string>{escalation});
    EXPECT_EQ(pass_at(2026, 4, 9), std::vector<std::string>{});  // once
    auto file = store_->case_file(c.number);
    ASSERT_TRUE(file.ok());
    std::vector<std::string> kinds;
    for (const auto& e : file->events) kinds.push_back(e.kind);
    EXPECT_NE(std::find(kinds.begin(), kinds.end(), "reminded"), kinds.end());
    EXPECT_NE(std::find(kinds.begin(), kinds.end(), "escalated"), kinds.end());
    // The reminder's text names the case and its due date.
    auto bytes = spool::Outgoing(*spool_).bytes(woken_.front(), 1 << 20);
    ASSERT_TRUE(bytes.ok());
    EXPECT_NE(bytes->find(c.number), std::string::npos);
}

TEST_F(DeadlinesTest, TwoGatewaysOnOneStoreSendEachNoticeOnce) {
    open(3);
    clock_.set(paris(2026, 4, 1));
    const cases::Case c = open_case("elodie@example.org", "s1");
    // A second gateway: its own hostname and spool, the same store; its pass comes second.
    auto gw2_config = std::make_shared<config::Config>(*config_);
    gw2_config->gateway.hostname = "gw2." + config_->gateway.hostname;
    auto s2 = spool::Spool::open(dir_.path() / "spool2", clock_, random_);
    ASSERT_TRUE(s2.ok());
    spool::Spool gw2_spool = std::move(s2).value();
    ProcessorDeps gw2 = deps_;
    gw2.config = gw2_config;
    gw2.spool = &gw2_spool;
    std::vector<std::string> gw2_woken;
    gw2.on_outgoing = [&gw2_woken](const std::vector<std::string>& ids) {
        gw2_woken.insert(gw2_woken.end(), ids.begin(), ids.end());
    };
    const std::string reminder = "reminder " + c.number + " helene@agents.example.fr";
    EXPECT_EQ(pass_at(2026, 4, 3), std::vector<std::string>{reminder});
    auto n = check_deadlines(gw2);
    ASSERT_TRUE(n.ok()) << n.error().message;
    EXPECT_EQ(*n, 0u);
    EXPECT_TRUE(gw2_woken.empty());
    EXPECT_TRUE(spool::Outgoing(gw2_spool).ids().empty());
    // The gateway that recorded it still makes again the item a crash lost.
    ASSERT_TRUE(spool::Outgoing(*spool_).remove(woken_.back()).ok());
    EXPECT_EQ(pass_at(2026, 4, 3), std::vector<std::string>{reminder});
}

TEST_F(DeadlinesTest, AscensionAndBastilleDayAreSkipped) {
    open(2);
    clock_.set(paris(2026, 5, 12));  // Tuesday 12 May; Thursday 14 May 2026 is Ascension
    const cases::Case may = open_case("ascension@example.org", "s1");
    EXPECT_EQ(may.due, day(2026, 5, 15));  // Wed 13, (Thu 14), Fri 15
    EXPECT_EQ(pass_at(2026, 5, 12), std::vector<std::string>{});
    // Wednesday: the next working day is Friday, the due date.
    EXPECT_EQ(pass_at(2026, 5, 13),
              std::vector<std::string>{"reminder " + may.number + " helene@agents.example.fr"});
    clock_.set(paris(2026, 7, 10));  // Friday 10 July; Tuesday 14 July is a holiday
    const cases::Case july = open_case("juillet@example.org", "s2");
    EXPECT_EQ(july.due, day(2026, 7, 15));  // Mon 13, (Tue 14), Wed 15
    EXPECT_EQ(pass_at(2026, 7, 10),         // May's case is overdue by now: its escalation goes too
              std::vector<std::string>{"escalation " + may.number + " chef@mairie.example.fr"});
    EXPECT_EQ(pass_at(2026, 7, 13),
              std::vector<std::string>{"reminder " + july.number + " helene@agents.example.fr"});
}

TEST_F(DeadlinesTest, AnsweredCasesGetNothingAndAReopenedCaseMayBeRemindedAgain) {
    open(1);
    clock_.set(paris(2026, 4, 1));
    const cases::Case answered = open_case("a@example.org", "s1");
    const cases::Case other = open_case("b@example.org", "s2");
    cases::OutboundRequest reply;
    reply.key = "s1/reply";
    reply.case_id = answered.id;
    reply.kind = "reply";
    reply.message_id = "rep@gw";
    reply.sender = "helene@agents.example.fr";
    reply.recipients = {"a@example.org"};
    reply.raw = "x";
    ASSERT_TRUE(store_->record_outbound(reply).ok());
    EXPECT_EQ(pass_at(2026, 4, 1),
              std::vector<std::string>{"reminder " + other.number + " helene@agents.example.fr"});
    ASSERT_TRUE(store_->close(other.number).ok());
    EXPECT_EQ(pass_at(2026, 4, 3), std::vector<std::string>{});  // closed: nothing
    clock_.set(paris(2026, 4, 8));
    auto reopened = store_->reopen(other.number);
    ASSERT_TRUE(reopened.ok());
    EXPECT_EQ(reopened->due, day(2026, 4, 9));
    EXPECT_EQ(pass_at(2026, 4, 8),
              std::vector<std::string>{"reminder " + other.number + " helene@agents.example.fr"});
}

TEST_F(DeadlinesTest, SchedulerPassPurgesOncePerDay) {
    open(1);
    config_->services[0].retention_days = 1;
    clock_.set(paris(2026, 4, 1));
    const cases::Case c = open_case("a@example.org", "s1");
    ASSERT_TRUE(store_->close(c.number).ok());
    std::optional<cases::Day> last;
    clock_.set(paris(2026, 4, 3));
    scheduled_pass(deps_, last);  // closed two days ago, retention one day: purged
    EXPECT_EQ(last, day(2026, 4, 3));
    auto file = store_->case_file(c.number);
    ASSERT_TRUE(file.ok());
    EXPECT_FALSE(file->messages.at(0).has_raw);
    EXPECT_TRUE(file->case_.citizen.address.ends_with("@purged.invalid"));
    // Later the same day: no second purge (the last day stays); the next day: again.
    clock_.set(paris(2026, 4, 3) + hours(5));
    scheduled_pass(deps_, last);
    EXPECT_EQ(last, day(2026, 4, 3));
    clock_.set(paris(2026, 4, 4));
    scheduled_pass(deps_, last);
    EXPECT_EQ(last, day(2026, 4, 4));
}

}  // namespace
}  // namespace referent::pipeline
