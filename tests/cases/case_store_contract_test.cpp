// The CaseStore contract, run on SQLite and on PostgreSQL: numbering, idempotent records,
// threading through the store (hijack attempts included), reopening, assignment, absences,
// handover, agent checks, outbound records, the append-only event log, migrations, and
// concurrent numbering (8 threads on SQLite, 2 processes on PostgreSQL).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <thread>

#include "cases/schema.hpp"
#include "store_fixture.hpp"

namespace referent::cases::test {
namespace {

class CaseStoreContract : public ::testing::TestWithParam<Engine> {
protected:
    void SetUp() override {
        setenv("TZ", "Europe/Paris", 1);
        tzset();
        env_ = std::make_unique<StoreEnv>(GetParam());
        if (!env_->available()) {
            skip_loudly_without_postgresql();
            GTEST_SKIP() << "REFERENT_TEST_PG not set";
        }
        reopen_store();
    }

    void reopen_store() {
        store_.reset();
        auto s = env_->store(config_, clock_);
        ASSERT_TRUE(s.ok()) << s.error().message;
        store_ = std::move(s).value();
    }

    InboundRequest from(const std::string& sender, const std::string& spool_id,
                        const std::string& service = "etat-civil") {
        InboundRequest r;
        r.spool_id = spool_id;
        r.service = service;
        r.keys.sender = sender;
        r.sender_name = "Élodie Marchand";
        r.message_id = spool_id + "@client.example";
        r.subject = "Demande d'acte";
        r.kind = "human";
        r.raw = std::string("Subject: x\r\n\r\nbody\0\xff\r\n", 22);
        return r;
    }

    InboundOutcome record(const InboundRequest& r) {
        auto o = store_->record_inbound(r);
        EXPECT_TRUE(o.ok()) << (o.ok() ? "" : o.error().message);
        return o.ok() ? std::move(o).value() : InboundOutcome{};
    }

    std::vector<Event> events(const std::string& number) {
        auto f = store_->case_file(number);
        EXPECT_TRUE(f.ok());
        return f.ok() ? f->events : std::vector<Event>{};
    }

    std::shared_ptr<config::Config> config_ = sample_config();
    util::ManualClock clock_{paris(2026, 3, 4)};  // Wednesday 4 March 2026
    std::unique_ptr<StoreEnv> env_;
    std::unique_ptr<SqlCaseStore> store_;
};

TEST_P(CaseStoreContract, NewCaseIsNumberedDatedAndAssigned) {
    InboundOutcome o = record(from("elodie@example.fr", "s1"));
    ASSERT_TRUE(o.case_);
    EXPECT_TRUE(o.created);
    EXPECT_FALSE(o.replay);
    EXPECT_EQ(o.rule, ThreadRule::new_case);
    EXPECT_EQ(o.case_->number, "EC-2026-000001");
    EXPECT_EQ(o.case_->service, "etat-civil");
    EXPECT_EQ(o.case_->citizen.address, "elodie@example.fr");
    EXPECT_EQ(o.case_->citizen.name, "Élodie Marchand");
    EXPECT_EQ(o.case_->referent, "marie");  // least loaded, first in order
    EXPECT_EQ(o.recipient, std::optional<std::string>("marie"));
    // Wednesday 4 March + 5 working days = Wednesday 11 March.
    EXPECT_EQ(o.case_->due, Day{year{2026} / March / 11});
    EXPECT_EQ(o.earlier_messages, 0u);
    std::vector<Event> ev = events("EC-2026-000001");
    ASSERT_EQ(ev.size(), 2u);
    EXPECT_EQ(ev[0].kind, "created");
    EXPECT_EQ(ev[1].kind, "assigned");
    EXPECT_NE(ev[1].detail.find("marie"), std::string::npos);
    // The next case of the service gets the next number and the less loaded agent.
    InboundOutcome o2 = record(from("jean@example.org", "s2"));
    EXPECT_EQ(o2.case_->number, "EC-2026-000002");
    EXPECT_EQ(o2.case_->referent, "paul");
    // Another service has its own sequence and prefix.
    InboundOutcome o3 = record(from("jean@example.org", "s3", "urbanisme"));
    EXPECT_EQ(o3.case_->number, "URB-2026-000001");
}

TEST_P(CaseStoreContract, ReplayOfASpoolIdChangesNothing) {
    InboundOutcome first = record(from("elodie@example.fr", "s1"));
    const std::size_t events_before = events(first.case_->number).size();
    InboundOutcome again = record(from("elodie@example.fr", "s1"));
    EXPECT_TRUE(again.replay);
    ASSERT_TRUE(again.case_);
    EXPECT_EQ(again.case_->id, first.case_->id);
    EXPECT_EQ(again.message, first.message);
    EXPECT_EQ(again.created, first.created);
    EXPECT_EQ(again.recipient, first.recipient);
    EXPECT_EQ(again.reason, first.reason);
    EXPECT_EQ(events(first.case_->number).size(), events_before);
    auto file = store_->case_file(first.case_->number);
    ASSERT_TRUE(file.ok());
    EXPECT_EQ(file->messages.size(), 1u);
    EXPECT_TRUE(file->messages[0].has_raw);
    auto raw = store_->message_raw(file->messages[0].id);
    ASSERT_TRUE(raw.ok());
    EXPECT_EQ(raw->value_or(""), from("elodie@example.fr", "s1").raw);  // NUL and 0xFF intact
    EXPECT_FALSE(store_->message_raw(999999)->has_value());
    // The same key for another message is refused, not answered with the first outcome.
    InboundRequest other = from("jean@example.org", "s1");
    auto clash = store_->record_inbound(other);
    ASSERT_FALSE(clash.ok());
    EXPECT_NE(clash.error().message.find("another message"), std::string::npos);
    // The sequence did not move either.
    EXPECT_EQ(record(from("jean@example.org", "s2")).case_->number, "EC-2026-000002");
}

// A second delivery of the same message (an MTA's retry after a 250 it never saw): its
// Message-ID and sender are already in a case of the service. It joins that case as a
// duplicate, opens nothing, and tells nobody of an absence; a stranger reusing the Message-ID
// and the same message sent to another service are new messages.
TEST_P(CaseStoreContract, SecondDeliveryOfAMessageIsADuplicateInItsCase) {
    InboundOutcome first = record(from("elodie@example.fr", "s1"));
    auto a = store_->add_absence(
        {"marie", Day{year{2026} / March / 5}, Day{year{2026} / March / 20}, "paul"});
    ASSERT_TRUE(a.ok()) << a.error().message;
    clock_.advance(days(1));
    InboundRequest retry = from("elodie@example.fr", "s2");
    retry.message_id = "s1@client.example";
    InboundOutcome dup = record(retry);
    EXPECT_EQ(dup.rule, ThreadRule::duplicate);
    ASSERT_TRUE(dup.case_);
    EXPECT_EQ(dup.case_->id, first.case_->id);
    EXPECT_FALSE(dup.created);
    EXPECT_FALSE(dup.tell_absence);
    EXPECT_NE(dup.message, first.message);
    // Its own replay answers its first outcome.
    InboundOutcome replayed = record(retry);
    EXPECT_TRUE(replayed.replay);
    EXPECT_EQ(replayed.rule, ThreadRule::duplicate);
    EXPECT_EQ(replayed.case_->id, first.case_->id);
    // The same message to another service opens a case there.
    InboundRequest other_service = from("elodie@example.fr", "s5", "urbanisme");
    other_service.message_id = "s1@client.example";
    InboundOutcome u = record(other_service);
    EXPECT_EQ(u.rule, ThreadRule::new_case);
    EXPECT_EQ(u.case_->number, "URB-2026-000001");
    // The absence is still told by the citizen's next message.
    InboundRequest next = from("elodie@example.fr", "s3");
    next.keys.references = {"s1@client.example"};
    EXPECT_TRUE(record(next).tell_absence);
    // Another sender with the same Message-ID: a case of their own.
    InboundRequest stranger = from("mallory@evil.example", "s4");
    stranger.message_id = "s1@client.example";
    InboundOutcome m = record(stranger);
    EXPECT_EQ(m.rule, ThreadRule::new_case);
    EXPECT_NE(m.case_->id, first.case_->id);
    // Both copies are in the case's file; the duplicate's decision is in its events.
    auto file = store_->case_file(first.case_->number);
    ASSERT_TRUE(file.ok());
    EXPECT_EQ(file->messages.size(), 3u);
    bool told = false;
    for (const Event& e : file->events)
        told = told || (e.kind == "threaded" && e.detail.rfind("duplicate: ", 0) == 0);
    EXPECT_TRUE(told);
    EXPECT_EQ(record(from("jean@example.org", "s6")).case_->number, "EC-2026-000003");
}

TEST_P(CaseStoreContract, FollowUpThreadsByReferenceThenByTag) {
    InboundOutcome first = record(from("elodie@example.fr", "s1"));
    InboundRequest reply = from("Elodie@Example.FR", "s2");  // case differs, same citizen
    reply.keys.references = {"unknown@x", "s1@client.example"};
    auto looked = store_->find_thread(reply.keys);
    ASSERT_TRUE(looked.ok());
    EXPECT_EQ(looked->rule, ThreadRule::reference);
    EXPECT_EQ(looked->case_id, std::optional<std::int64_t>(first.case_->id));
    InboundOutcome o = record(reply);
    EXPECT_EQ(o.rule, ThreadRule::reference);
    EXPECT_EQ(o.case_->id, first.case_->id);
    EXPECT_FALSE(o.created);
    EXPECT_EQ(o.earlier_messages, 1u);
    InboundRequest tagged = from("elodie@example.fr", "s3");
    tagged.keys.subject_tags = {first.case_->number};
    InboundOutcome t = record(tagged);
    EXPECT_EQ(t.rule, ThreadRule::subject_tag);
    EXPECT_EQ(t.case_->id, first.case_->id);
    EXPECT_EQ(t.earlier_messages, 2u);
}

TEST_P(CaseStoreContract, FirstMessageRecordedAfterItsFollowUpJoinsItsCase) {
    // Two gateways, or a crash that held the first message back: the follow-up came first.
    InboundRequest follow_up = from("elodie@example.fr", "s2");
    follow_up.keys.references = {"s1@client.example", "s1@client.example", "s0@client.example"};
    InboundOutcome f = record(follow_up);
    EXPECT_TRUE(f.created);
    InboundOutcome first = record(from("Elodie@example.fr", "s1"));
    EXPECT_FALSE(first.created);
    EXPECT_EQ(first.rule, ThreadRule::reference);
    EXPECT_EQ(first.case_->id, f.case_->id);
    EXPECT_NE(first.reason.find("names this message"), std::string::npos) << first.reason;
    // A stranger whose Message-ID the follow-up names joins nothing.
    InboundRequest stranger = from("mallory@evil.example", "s3");
    stranger.message_id = "s0@client.example";
    InboundOutcome m = record(stranger);
    EXPECT_TRUE(m.created);
    EXPECT_NE(m.case_->id, f.case_->id);
    // The purge forgets the references with the messages.
    ASSERT_TRUE(store_->close(f.case_->number).ok());
    clock_.advance(days(40 * 365));
    ASSERT_TRUE(store_->purge(false).ok());
    auto left = store_->db().query("SELECT COUNT(*) FROM message_references", {});
    ASSERT_TRUE(left.ok());
    EXPECT_EQ(sql::as_int(left->front()[0]), 0);
}

TEST_P(CaseStoreContract, StrangersNeverJoinAnotherCitizensCase) {
    InboundOutcome victim = record(from("elodie@example.fr", "s1"));
    InboundRequest tag = from("mallory@evil.example", "s2");
    tag.keys.subject_tags = {victim.case_->number};
    InboundOutcome a = record(tag);
    EXPECT_TRUE(a.created);
    EXPECT_NE(a.case_->id, victim.case_->id);
    InboundRequest forged = from("mallory@evil.example", "s3");
    forged.keys.references = {"s1@client.example"};
    InboundOutcome b = record(forged);
    EXPECT_EQ(b.rule, ThreadRule::new_case);
    EXPECT_NE(b.case_->id, victim.case_->id);
    // Mallory's own thread: the forged reference did not glue the two cases together.
    EXPECT_EQ(b.case_->id, b.case_->id);
    EXPECT_NE(b.case_->citizen.address, victim.case_->citizen.address);
}

TEST_P(CaseStoreContract, TokenFromAnotherSenderJoinsFlagged) {
    InboundOutcome first = record(from("elodie@example.fr", "s1"));
    InboundRequest spouse = from("marc@example.fr", "s2");
    spouse.keys.token_case = static_cast<std::uint32_t>(first.case_->id);
    InboundOutcome o = record(spouse);
    EXPECT_EQ(o.rule, ThreadRule::token);
    EXPECT_EQ(o.case_->id, first.case_->id);
    EXPECT_TRUE(o.flagged);
    std::vector<Event> ev = events(first.case_->number);
    EXPECT_TRUE(
        std::any_of(ev.begin(), ev.end(), [](const Event& e) { return e.kind == "flagged"; }));
    // A token naming no case threads nothing.
    InboundRequest ghost = from("elodie@example.fr", "s3");
    ghost.keys.token_case = 999999u;
    EXPECT_EQ(record(ghost).rule, ThreadRule::new_case);
}

TEST_P(CaseStoreContract, ClosedCaseReopensWithinReopenDaysElseSucceeds) {
    InboundOutcome first = record(from("elodie@example.fr", "s1"));
    ASSERT_TRUE(store_->close(first.case_->number).ok());
    EXPECT_FALSE(store_->close(first.case_->number).ok());  // already closed
    clock_.advance(days(10));
    InboundRequest r = from("elodie@example.fr", "s2");
    r.keys.references = {"s1@client.example"};
    InboundOutcome o = record(r);
    EXPECT_TRUE(o.reopened);
    EXPECT_EQ(o.case_->id, first.case_->id);
    EXPECT_EQ(o.case_->status, CaseStatus::open);
    ASSERT_TRUE(store_->close(first.case_->number).ok());
    clock_.advance(days(31));
    InboundRequest late = from("elodie@example.fr", "s3");
    late.keys.references = {"s1@client.example"};
    InboundOutcome n = record(late);
    EXPECT_TRUE(n.created);
    EXPECT_NE(n.case_->id, first.case_->id);
    EXPECT_EQ(n.case_->predecessor, std::optional<std::int64_t>(first.case_->id));
    // Returning citizen keeps the referent (sticky), even though paul is less loaded now.
    EXPECT_EQ(n.case_->referent, first.case_->referent);
}

TEST_P(CaseStoreContract, AutoRepliesJoinButNeverOpenACase) {
    InboundRequest bulk = from("news@shop.example", "s1");
    bulk.kind = "bulk";
    bulk.may_open_case = false;
    InboundOutcome o = record(bulk);
    EXPECT_FALSE(o.case_);
    EXPECT_FALSE(o.created);
    EXPECT_TRUE(record(bulk).replay);
    InboundOutcome c = record(from("elodie@example.fr", "s2"));
    InboundRequest ooo = from("elodie@example.fr", "s3");
    ooo.kind = "auto-reply";
    ooo.may_open_case = false;
    ooo.keys.references = {"s2@client.example"};
    InboundOutcome j = record(ooo);
    ASSERT_TRUE(j.case_);
    EXPECT_EQ(j.case_->id, c.case_->id);
}

TEST_P(CaseStoreContract, RoundRobinAndCapacityThenFallback) {
    // urbanisme: round robin over lea, hugo; hugo holds at most 2 open cases.
    std::vector<std::string> got;
    for (int i = 0; i < 6; ++i)
        got.push_back(record(from("c" + std::to_string(i) + "@example.fr", "u" + std::to_string(i),
                                  "urbanisme"))
                          .case_->referent);
    EXPECT_EQ(got, (std::vector<std::string>{"lea", "hugo", "lea", "hugo", "lea", "lea"}));
    config_->agents[2].max_open_cases = 4;  // lea now full too
    reopen_store();
    InboundOutcome o = record(from("late@example.fr", "u9", "urbanisme"));
    EXPECT_EQ(o.case_->referent, "");
    EXPECT_FALSE(o.recipient);
    std::vector<Event> ev = events(o.case_->number);
    ASSERT_GE(ev.size(), 2u);
    EXPECT_NE(ev[1].detail.find("fallback"), std::string::npos) << ev[1].detail;
}

TEST_P(CaseStoreContract, AbsenceRoutesToTheDelegateAndTellsTheCitizenOnce) {
    InboundOutcome first = record(from("elodie@example.fr", "s1"));
    ASSERT_EQ(first.case_->referent, "marie");
    auto a = store_->add_absence(
        {"marie", Day{year{2026} / March / 5}, Day{year{2026} / March / 20}, "paul"});
    ASSERT_TRUE(a.ok()) << a.error().message;
    clock_.advance(days(1));
    InboundRequest r = from("elodie@example.fr", "s2");
    r.keys.references = {"s1@client.example"};
    InboundOutcome o = record(r);
    EXPECT_EQ(o.recipient, std::optional<std::string>("paul"));
    ASSERT_TRUE(o.absence);
    EXPECT_TRUE(o.tell_absence);
    InboundRequest r2 = from("elodie@example.fr", "s3");
    r2.keys.references = {"s2@client.example"};
    InboundOutcome o2 = record(r2);
    EXPECT_EQ(o2.recipient, std::optional<std::string>("paul"));
    EXPECT_FALSE(o2.tell_absence);
    // The delegate may answer; a stranger to the case may not.
    EXPECT_EQ(store_->check_agent(first.case_->id, "paul")->verdict, AgentVerdict::delegate);
    EXPECT_EQ(store_->check_agent(first.case_->id, "lea")->verdict, AgentVerdict::not_on_case);
    // New cases skip the absent agent.
    EXPECT_EQ(record(from("jean@example.org", "s4")).case_->referent, "paul");
    // After the absence, marie reads her mail again.
    clock_.advance(days(20));
    InboundRequest r3 = from("elodie@example.fr", "s5");
    r3.keys.references = {"s3@client.example"};
    EXPECT_EQ(record(r3).recipient, std::optional<std::string>("marie"));
}

TEST_P(CaseStoreContract, AbsencesFromConfigAndStoreListAndEnd) {
    config::Absence yaml{{2026, 8, 1}, {2026, 8, 31}, "marie"};
    config_->agents[1].absences = {yaml};
    reopen_store();
    EXPECT_FALSE(
        store_->add_absence({"nobody", Day{year{2026} / 3 / 5}, Day{year{2026} / 3 / 6}, ""}).ok());
    EXPECT_FALSE(
        store_->add_absence({"marie", Day{year{2026} / 3 / 5}, Day{year{2026} / 3 / 6}, "marie"})
            .ok());
    EXPECT_FALSE(
        store_->add_absence({"marie", Day{year{2026} / 3 / 9}, Day{year{2026} / 3 / 6}, ""}).ok());
    ASSERT_TRUE(
        store_->add_absence({"marie", Day{year{2026} / 3 / 1}, Day{year{2026} / 3 / 10}, "paul"})
            .ok());
    ASSERT_TRUE(
        store_->add_absence({"marie", Day{year{2026} / 4 / 1}, Day{year{2026} / 4 / 10}, ""}).ok());
    auto all = store_->absences();
    ASSERT_TRUE(all.ok());
    ASSERT_EQ(all->size(), 3u);
    EXPECT_TRUE((*all)[0].from_config);
    auto ended = store_->end_absence("marie");
    ASSERT_TRUE(ended.ok());
    EXPECT_EQ(*ended, 2u);  // the current one ends yesterday, the future one is dropped
    all = store_->absences();
    ASSERT_EQ(all->size(), 2u);
    EXPECT_EQ((*all)[1].to, Day{year{2026} / 3 / 3});
    EXPECT_EQ(record(from("a@example.fr", "s1")).case_->referent, "marie");
}

TEST_P(CaseStoreContract, HandoverRecordsHistoryAndRefusesTheFormerReferent) {
    InboundOutcome first = record(from("elodie@example.fr", "s1"));
    EXPECT_EQ(store_->check_agent(first.case_->id, "marie")->verdict, AgentVerdict::referent);
    EXPECT_FALSE(store_->reassign(first.case_->number, "marie", "x").ok());   // already
    EXPECT_FALSE(store_->reassign(first.case_->number, "nobody", "x").ok());  // unknown
    EXPECT_FALSE(store_->reassign("EC-2026-999999", "paul", "x").ok());       // no case
    EXPECT_FALSE(store_->reassign(first.case_->number, "paul", "").ok());     // no reason
    clock_.advance(hours(1));
    auto h = store_->reassign(first.case_->number, "paul", "mobility");
    ASSERT_TRUE(h.ok()) << h.error().message;
    EXPECT_EQ(h->previous, "marie");
    EXPECT_EQ(h->case_.referent, "paul");
    ASSERT_EQ(h->history.size(), 1u);
    AgentCheck old = *store_->check_agent(first.case_->id, "marie");
    EXPECT_EQ(old.verdict, AgentVerdict::former_referent);
    EXPECT_EQ(old.current, "paul");
    EXPECT_EQ(store_->check_agent(first.case_->id, "paul")->verdict, AgentVerdict::referent);
    EXPECT_EQ(store_->check_agent(424242, "paul")->verdict, AgentVerdict::unknown_case);
    auto file = store_->case_file(first.case_->number);
    ASSERT_EQ(file->referents.size(), 2u);
    EXPECT_TRUE(file->referents[0].to);
    EXPECT_EQ(file->referents[1].reason, "mobility");
    // Follow-ups now go to paul.
    InboundRequest r = from("elodie@example.fr", "s2");
    r.keys.references = {"s1@client.example"};
    EXPECT_EQ(record(r).recipient, std::optional<std::string>("paul"));
}

TEST_P(CaseStoreContract, OutboundRecordsAreIdempotentAndThreadTheCase) {
    InboundOutcome first = record(from("elodie@example.fr", "s1"));
    OutboundRequest fwd{"s1/forward/marie",          first.case_->id, "forward",
                        "fwd-1@gw.example",          "gw@gw.example", "[EC] x",
                        {"marie@mairie.example.fr"}, "bytes"};
    auto o = store_->record_outbound(fwd);
    ASSERT_TRUE(o.ok()) << o.error().message;
    EXPECT_FALSE(o->replay);
    ASSERT_EQ(o->deliveries.size(), 1u);
    fwd.events = {{"verified", "marie as referent"}};
    auto again = store_->record_outbound(fwd);
    EXPECT_TRUE(again->replay);
    for (const Event& e : events(first.case_->number))
        EXPECT_NE(e.kind, "verified") << "a replay wrote the events of the first record";
    EXPECT_EQ(again->deliveries, o->deliveries);
    EXPECT_TRUE(store_->set_delivery(o->deliveries[0], DeliveryState::delivered, "").ok());
    EXPECT_FALSE(store_->set_delivery(987654, DeliveryState::failed, "x").ok());
    OutboundRequest reply{"r1/reply/elodie",
                          first.case_->id,
                          "reply",
                          "rep-1@gw.example",
                          "etat-civil@mairie.example.fr",
                          "Re: x",
                          {"elodie@example.fr"},
                          "b"};
    reply.events = {{"verified", "marie as referent"}, {"internal_note", "payé en régie"}};
    ASSERT_TRUE(store_->record_outbound(reply).ok());
    ASSERT_TRUE(store_->record_outbound(reply).ok());  // a replay
    std::size_t verified = 0;
    for (const Event& e : events(first.case_->number)) verified += e.kind == "verified" ? 1u : 0u;
    EXPECT_EQ(verified, 1u);
    // The citizen answers our reply: threaded by the Message-ID we minted.
    InboundRequest r = from("elodie@example.fr", "s2");
    r.keys.references = {"rep-1@gw.example"};
    InboundOutcome n = record(r);
    EXPECT_EQ(n.rule, ThreadRule::reference);
    EXPECT_EQ(n.earlier_forwards, (std::vector<std::string>{"fwd-1@gw.example"}));
    EXPECT_EQ(*store_->notices_sent("ELODIE@example.fr"), 0u);  // a reply is no notice
    OutboundRequest ack{"s1/ack/elodie",
                        first.case_->id,
                        "acknowledgement",
                        "ack-1@gw.example",
                        "etat-civil@mairie.example.fr",
                        "[EC] x",
                        {"elodie@example.fr"},
                        "b"};
    ASSERT_TRUE(store_->record_outbound(ack).ok());
    ASSERT_TRUE(store_->record_outbound(ack).ok());  // a replay counts once
    EXPECT_EQ(*store_->notices_sent("ELODIE@example.fr"), 1u);
    clock_.advance(hours(23));
    EXPECT_EQ(*store_->notices_sent("elodie@example.fr"), 1u);  // still within the day
    clock_.advance(hours(2));
    EXPECT_EQ(*store_->notices_sent("elodie@example.fr"), 0u);
    // A later notice drops the log's rows older than the day; the count stays right.
    OutboundRequest ack2 = ack;
    ack2.key = "s2/ack/elodie";
    ack2.message_id = "ack-2@gw.example";
    ASSERT_TRUE(store_->record_outbound(ack2).ok());
    EXPECT_EQ(*store_->notices_sent("elodie@example.fr"), 1u);
    EXPECT_EQ(sql::as_int(store_->db().query("SELECT COUNT(*) FROM notice_log", {})->at(0)[0]), 1);
    auto ids = store_->citizen_thread(first.case_->id, 10);
    EXPECT_EQ(*ids, (std::vector<std::string>{"s1@client.example", "rep-1@gw.example",
                                              "s2@client.example"}));
    EXPECT_EQ(store_->citizen_thread(first.case_->id, 1)->size(), 1u);
    OutboundRequest bad = reply;
    bad.key = "x";
    bad.case_id = 777777;
    EXPECT_FALSE(store_->record_outbound(bad).ok());
}

TEST_P(CaseStoreContract, ListsFiltersAndOverdue) {
    record(from("a@example.fr", "s1"));
    record(from("b@example.fr", "s2"));
    record(from("c@example.fr", "s3", "urbanisme"));
    ASSERT_TRUE(store_->close("EC-2026-000002").ok());
    CaseFilter f;
    EXPECT_EQ(store_->list_cases(f)->size(), 3u);
    f.service = "etat-civil";
    EXPECT_EQ(store_->list_cases(f)->size(), 2u);
    f.status = CaseStatus::open;
    EXPECT_EQ(store_->list_cases(f)->size(), 1u);
    CaseFilter by_agent;
    by_agent.agent = "marie";
    EXPECT_EQ(store_->list_cases(by_agent)->size(), 1u);
    CaseFilter overdue;
    overdue.overdue = true;
    EXPECT_EQ(store_->list_cases(overdue)->size(), 0u);
    EXPECT_EQ(store_->counts()->open, 2u);
    EXPECT_EQ(store_->counts()->overdue, 0u);
    // Nobody answered yet: both open cases await their answer, due 11 March.
    EXPECT_EQ(store_->awaiting_answer(Day{year{2026} / March / 10}, 10)->size(), 0u);
    EXPECT_EQ(store_->awaiting_answer(Day{year{2026} / March / 11}, 10)->size(), 2u);
    EXPECT_EQ(store_->awaiting_answer(Day{year{2026} / March / 11}, 1)->size(), 1u);
    clock_.advance(days(8));  // past 11 March
    EXPECT_EQ(store_->list_cases(overdue)->size(), 2u);
    EXPECT_EQ(store_->counts()->overdue, 2u);
    EXPECT_FALSE(store_->find_case("EC-2026-000009")->has_value());
    EXPECT_TRUE(store_->find_case("EC-2026-000001")->has_value());
}

TEST_P(CaseStoreContract, NumbersRestartEachYear) {
    clock_ = util::ManualClock(paris(2026, 12, 31, 23));
    EXPECT_EQ(record(from("a@example.fr", "s1")).case_->number, "EC-2026-000001");
    clock_.advance(hours(2));  // 1 January 2027, 01:00 in Paris
    EXPECT_EQ(record(from("b@example.fr", "s2")).case_->number, "EC-2027-000001");
}

TEST_P(CaseStoreContract, EventsAreAppendOnly) {
    record(from("a@example.fr", "s1"));
    EXPECT_FALSE(store_->db().query("UPDATE events SET detail = 'x'", {}).ok());
    EXPECT_FALSE(store_->db().query("DELETE FROM events", {}).ok());
}

// Assignment reads each agent's open cases from open_case_counts, which the database's
// triggers keep: after opening, closing, reopening and reassigning (by the store or by an
// operator's SQL), each count is the number of open cases.
TEST_P(CaseStoreContract, OpenCaseCountsFollowEveryChangeOfACase) {
    std::vector<std::string> numbers;
    for (int i = 0; i < 4; ++i)
        numbers.push_back(
            record(from("c" + std::to_string(i) + "@example.fr", "s" + std::to_string(i)))
                .case_->number);
    for (int i = 0; i < 3; ++i)
        record(from("u" + std::to_string(i) + "@example.fr", "u" + std::to_string(i), "urbanisme"));
    ASSERT_TRUE(store_->close(numbers[0]).ok());
    ASSERT_TRUE(store_->close(numbers[1]).ok());
    ASSERT_TRUE(store_->reopen(numbers[1]).ok());
    ASSERT_TRUE(store_->reassign(numbers[2], "paul", "mobility").ok());
    ASSERT_TRUE(store_->close(numbers[3]).ok());
    auto check = [this](const std::string& when) {
        auto all = store_->db().query("SELECT DISTINCT referent FROM cases", {});
        ASSERT_TRUE(all.ok()) << all.error().message;
        ASSERT_FALSE(all->empty());
        for (const sql::Row& r : *all) {
            const std::string agent = sql::as_text(r[0]);
            auto counted = store_->db().query(
                "SELECT COUNT(*) FROM cases WHERE status = 'open' AND referent = $1", {agent});
            auto kept =
                store_->db().query("SELECT n FROM open_case_counts WHERE referent = $1", {agent});
            ASSERT_TRUE(counted.ok() && kept.ok());
            const std::int64_t want = sql::as_int(counted->front()[0]);
            const std::int64_t got = kept->empty() ? 0 : sql::as_int(kept->front()[0]);
            EXPECT_EQ(got, want) << agent << " " << when;
        }
    };
    check("after the store's changes");
    // An operator's own SQL too: the triggers are the database's.
    ASSERT_TRUE(store_->db()
                    .query("UPDATE cases SET status = 'closed' WHERE number = $1", {numbers[1]})
                    .ok());
    ASSERT_TRUE(
        store_->db().query("UPDATE cases SET referent = 'paul' WHERE referent = 'lea'", {}).ok());
    check("after direct updates");
}

TEST_P(CaseStoreContract, MigrationsAreRecordedAndANewerSchemaIsRefused) {
    EXPECT_EQ(*schema_version(store_->db()), latest_schema_version());
    reopen_store();  // a second start applies nothing
    EXPECT_EQ(*schema_version(store_->db()), latest_schema_version());
    ASSERT_TRUE(store_->db()
                    .query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)",
                           {latest_schema_version() + 1})
                    .ok());
    store_.reset();
    auto s = env_->store(config_, clock_);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("newer than this binary"), std::string::npos)
        << s.error().message;
}

TEST_P(CaseStoreContract, UnknownServiceIsAPermanentError) {
    auto o = store_->record_inbound(from("a@example.fr", "s1", "nope"));
    ASSERT_FALSE(o.ok());
    EXPECT_FALSE(o.error().is_temporary());
    // Nothing was half-written: the spool id is still free.
    EXPECT_TRUE(record(from("a@example.fr", "s1")).created);
}

// Group commit: calls share one transaction; a failing call (a refused request, or an SQL
// error that aborts the statement) rolls back alone and the group goes on.
TEST_P(CaseStoreContract, GroupCommitsItsCallsTogetherAndAFailingCallAlone) {
    InboundOutcome first, follow;
    util::Status unknown, broken;
    const util::Status g = store_->group([&] {
        first = record(from("elodie@example.fr", "s1"));
        auto o = store_->record_inbound(from("a@example.fr", "s2", "nope"));
        unknown = o.ok() ? util::Status{} : util::Status(o.error());
        // A foreign key violation: on PostgreSQL the statement aborts the transaction, which
        // the savepoint restores.
        broken = store_->record_event(std::int64_t{424242}, "note", "no such case");
        // A later call of the group sees the earlier ones.
        InboundRequest reply = from("elodie@example.fr", "s3");
        reply.keys.references = {"s1@client.example"};
        follow = record(reply);
    });
    ASSERT_TRUE(g.ok()) << g.error().message;
    EXPECT_FALSE(unknown.ok());
    EXPECT_FALSE(broken.ok());
    ASSERT_TRUE(first.case_ && follow.case_);
    EXPECT_EQ(follow.case_->id, first.case_->id);
    EXPECT_FALSE(follow.created);
    // Durable after the group; the refused spool id was not taken, no number was skipped.
    reopen_store();
    EXPECT_TRUE(record(from("elodie@example.fr", "s1")).replay);
    EXPECT_TRUE(record(from("a@example.fr", "s2")).created);
    EXPECT_EQ(store_->find_case("EC-2026-000002")->value_or(Case{}).citizen.address,
              "a@example.fr");
}

TEST_P(CaseStoreContract, GroupLeftByAnExceptionKeepsNothingAndGroupsDoNotNest) {
    util::Status nested;
    EXPECT_THROW(store_->group([&] {
        record(from("elodie@example.fr", "s1"));
        nested = store_->group([] {});
        throw std::runtime_error("bug");
    }),
                 std::runtime_error);
    EXPECT_FALSE(nested.ok());
    InboundOutcome again = record(from("elodie@example.fr", "s1"));
    EXPECT_FALSE(again.replay);
    EXPECT_EQ(again.case_->number, "EC-2026-000001");
    // The store is usable again, in and out of groups.
    EXPECT_TRUE(store_->group([&] { record(from("jean@example.org", "s2")); }).ok());
    EXPECT_TRUE(record(from("jean@example.org", "s2")).replay);
}

// The connection lost inside a group (the server restarted, or an operator ended the
// session): the server rolled the group back, so every later call and the commit fail as
// temporary, and nothing of the group is kept. None may run in a fresh session, where each
// statement would commit alone and COMMIT only warn. The next group connects again.
TEST_P(CaseStoreContract, GroupWhoseConnectionIsLostKeepsNothing) {
    if (GetParam() != Engine::postgresql) GTEST_SKIP() << "no connection to lose";
    const std::string name = "lost" + std::to_string(::getpid());
    store_.reset();
    auto s = env_->store(config_, clock_, name);
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(s).value();
    auto admin = sql::open_postgresql(std::getenv("REFERENT_TEST_PG"));
    ASSERT_TRUE(admin.ok());
    auto sessions = [&] {
        auto r = (*admin)->query(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", {name});
        return r.ok() && !r->empty() ? sql::as_int(r->front()[0]) : -1;
    };
    util::Status lost, after;
    const util::Status g = store_->group([&] {
        ASSERT_TRUE(store_->record_inbound(from("elodie@example.fr", "s1")).ok());
        ASSERT_EQ(sessions(), 1);
        ASSERT_TRUE((*admin)
                        ->query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                                "application_name = $1",
                                {name})
                        .ok());
        for (int i = 0; i < 500 && sessions() != 0; ++i) usleep(10'000);
        auto o = store_->record_inbound(from("jean@example.org", "s2"));
        lost = o.ok() ? util::Status{} : util::Status(o.error());
        auto p = store_->record_inbound(from("anne@example.org", "s3"));
        after = p.ok() ? util::Status{} : util::Status(p.error());
    });
    ASSERT_FALSE(lost.ok());
    EXPECT_TRUE(lost.error().is_temporary()) << lost.error().message;
    ASSERT_FALSE(after.ok()) << "a call ran in a fresh session, outside the group";
    EXPECT_TRUE(after.error().is_temporary()) << after.error().message;
    ASSERT_FALSE(g.ok()) << "the group committed without its transaction";
    EXPECT_TRUE(g.error().is_temporary()) << g.error().message;
    // Nothing was kept; the store connects again and numbers from 1.
    InboundOutcome again = record(from("elodie@example.fr", "s1"));
    EXPECT_FALSE(again.replay);
    EXPECT_EQ(again.case_->number, "EC-2026-000001");
    EXPECT_TRUE(store_->group([&] { record(from("jean@example.org", "s2")); }).ok());
    EXPECT_EQ(store_->find_case("EC-2026-000002")->value_or(Case{}).citizen.address,
              "jean@example.org");
}

TEST_P(CaseStoreContract, PurgeAfterRetentionKeepsNumbersAndEventsOnly) {
    config_->services[0].retention_days = 10;
    InboundOutcome a = record(from("anne@example.fr", "s1"));
    InboundOutcome b_old = record(from("bruno@example.fr", "s2"));
    clock_.advance(days(1));
    InboundOutcome b_open = record(from("bruno@example.fr", "s3"));
    ASSERT_TRUE(store_->close(a.case_->number).ok());
    ASSERT_TRUE(store_->close(b_old.case_->number).ok());
    const std::size_t events_before = events(a.case_->number).size();
    // Not yet: closed 9 days ago.
    clock_.advance(days(9));
    EXPECT_EQ(store_->purge(false)->cases, 0u);
    clock_.advance(days(2));
    auto dry = store_->purge(true);
    ASSERT_TRUE(dry.ok()) << dry.error().message;
    EXPECT_EQ(dry->cases, 2u);
    EXPECT_EQ(dry->messages, 2u);
    EXPECT_EQ(dry->citizens, 1u);                              // Anne; Bruno still has an open case
    EXPECT_TRUE(store_->message_raw(a.message)->has_value());  // a dry run changes nothing
    auto done = store_->purge(false);
    ASSERT_TRUE(done.ok()) << done.error().message;
    EXPECT_EQ(done->cases, 2u);
    EXPECT_EQ(done->messages, 2u);
    EXPECT_EQ(done->citizens, 1u);
    EXPECT_FALSE(store_->message_raw(a.message)->has_value());
    EXPECT_FALSE(store_->message_raw(b_old.message)->has_value());
    EXPECT_TRUE(store_->message_raw(b_open.message)->has_value());
    auto file = store_->case_file(a.case_->number);
    ASSERT_TRUE(file.ok());
    EXPECT_EQ(file->case_.number, a.case_->number);
    EXPECT_TRUE(file->case_.citizen.address.ends_with("@purged.invalid"))
        << file->case_.citizen.address;
    EXPECT_EQ(file->case_.citizen.name, "");
    EXPECT_EQ(file->messages.at(0).subject, "");
    EXPECT_EQ(file->messages.at(0).sender, "");
    EXPECT_FALSE(file->messages.at(0).has_raw);
    EXPECT_GE(file->events.size(), events_before);  // the log stays whole
    EXPECT_EQ(store_->find_case(b_old.case_->number)->value().citizen.address, "bruno@example.fr");
    CaseFilter anne;
    anne.citizen = "ANNE@example.fr";
    EXPECT_TRUE(store_->list_cases(anne)->empty());  // nothing left under her address
    CaseFilter bruno;
    bruno.citizen = "Bruno@Example.fr";
    EXPECT_EQ(store_->list_cases(bruno)->size(), 2u);
    auto again = store_->purge(false);
    EXPECT_EQ(again->cases + again->messages + again->citizens, 0u);  // idempotent
}

TEST_P(CaseStoreContract, ActivityHasFirstRepliesAndHandovers) {
    InboundOutcome a = record(from("anne@example.fr", "s1"));
    InboundOutcome b = record(from("bruno@example.fr", "s2"));
    clock_.advance(hours(2));
    OutboundRequest reply{
        "s1/reply", a.case_->id,         "reply", "r1@gw", "marie@mairie.example.fr",
        "Re",       {"anne@example.fr"}, "x"};
    ASSERT_TRUE(store_->record_outbound(reply).ok());
    clock_.advance(hours(1));
    reply.key = "s1/reply2";
    reply.message_id = "r2@gw";
    ASSERT_TRUE(store_->record_outbound(reply).ok());  // a later reply: not the first
    ASSERT_TRUE(store_->reassign(b.case_->number, "marie", "renfort").ok());
    auto all = store_->activity(paris(2026, 3, 4, 0));
    ASSERT_TRUE(all.ok()) << all.error().message;
    ASSERT_EQ(all->size(), 2u);
    EXPECT_EQ((*all)[0].case_.number, a.case_->number);
    ASSERT_TRUE((*all)[0].first_reply.has_value());
    EXPECT_EQ(*(*all)[0].first_reply, paris(2026, 3, 4) + hours(2));
    EXPECT_EQ((*all)[0].handovers, 0u);
    EXPECT_FALSE((*all)[1].first_reply.has_value());
    EXPECT_EQ((*all)[1].handovers, 1u);
    EXPECT_TRUE(store_->activity(paris(2026, 3, 5, 0))->empty());  // opened before
}

// Several writers on one database: numbers stay unique and gapless. SQLite: 8 threads, each
// with its own connection. PostgreSQL: 2 processes.
TEST_P(CaseStoreContract, ConcurrentCreationKeepsNumbersUniqueAndGapless) {
    constexpr int per_writer = 40;
    std::vector<std::string> numbers;
    if (GetParam() == Engine::sqlite) {
        constexpr int writers = 8;
        std::vector<std::vector<std::string>> got(writers);
        std::vector<std::thread> threads;
        for (int w = 0; w < writers; ++w)
            threads.emplace_back([&, w] {
                auto s = env_->store(config_, clock_);
                ASSERT_TRUE(s.ok());
                for (int i = 0; i < per_writer; ++i) {
                    std::string id = "w" + std::to_string(w) + "-" + std::to_string(i);
                    auto o = (*s)->record_inbound(from(id + "@example.fr", id));
                    ASSERT_TRUE(o.ok()) << o.error().message;
                    got[static_cast<std::size_t>(w)].push_back(o->case_->number);
                }
            });
        for (auto& t : threads) t.join();
        for (auto& g : got) numbers.insert(numbers.end(), g.begin(), g.end());
        ASSERT_EQ(numbers.size(), std::size_t{writers * per_writer});
    } else {
        store_.reset();
        std::vector<pid_t> children;
        for (int w = 0; w < 2; ++w) {
            pid_t pid = fork();
            ASSERT_GE(pid, 0);
            if (pid == 0) {
                auto s = env_->store(config_, clock_);
                if (!s) _exit(3);
                for (int i = 0; i < per_writer * 4; ++i) {
                    std::string id = "p" + std::to_string(w) + "-" + std::to_string(i);
                    if (!(*s)->record_inbound(from(id + "@example.fr", id)).ok()) _exit(4);
                }
                _exit(0);
            }
            children.push_back(pid);
        }
        for (pid_t pid : children) {
            int status = 0;
            waitpid(pid, &status, 0);
            EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
        }
        reopen_store();
        CaseFilter all;
        all.limit = 100000;
        auto listed = store_->list_cases(all);
        ASSERT_TRUE(listed.ok());
        const std::vector<Case>& cases = listed.value();
        for (const Case& c : cases) numbers.push_back(c.number);
        ASSERT_EQ(numbers.size(), std::size_t{2 * per_writer * 4});
    }
    std::set<std::string> unique(numbers.begin(), numbers.end());
    EXPECT_EQ(unique.size(), numbers.size());
    std::set<std::string> want;
    for (std::size_t i = 1; i <= numbers.size(); ++i) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "EC-2026-%06zu", i);
        want.insert(buf);
    }
    EXPECT_EQ(unique, want);
}

INSTANTIATE_TEST_SUITE_P(Engines, CaseStoreContract,
                         ::testing::Values(Engine::sqlite, Engine::postgresql),
                         [](const auto& param) { return std::string(engine_name(param.param)); });

}  // namespace
}  // namespace referent::cases::test
