// The processor on a real spool, a real SQLite store and the repository's templates: a
// citizen's message becomes a forward and an acknowledgement in outgoing/ and leaves
// incoming/; a replay after a crash (the input still there) adds nothing; what cannot be
// handled goes to corrupt/ with its reason; a batch shares one store group, goes on past a
// bad message, and is left whole for later when the store cannot commit.
#include "pipeline/processor.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "cases/sql_case_store.hpp"
#include "gateway_config.hpp"
#include "mail/message.hpp"
#include "pipeline/flow.hpp"
#include "spool/temp_dir.hpp"
#include "util/cat.hpp"

namespace referent::pipeline {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
const std::chrono::system_clock::time_point t0{seconds(1'790'000'000)};  // 22 Sep 2026

using test::gateway_config;

class ProcessorTest : public ::testing::Test {
protected:
    void SetUp() override {
        mail::init();
        auto s = spool::Spool::open(dir_.path() / "spool", clock_, random_);
        ASSERT_TRUE(s.ok());
        spool_.emplace(std::move(s).value());
        // A short busy wait: a test holds the database's write lock from another connection.
        auto db = cases::sql::open_sqlite((dir_.path() / "cases.db").string(), 200);
        ASSERT_TRUE(db.ok());
        auto st = cases::SqlCaseStore::open(std::move(db).value(), config_, clock_);
        ASSERT_TRUE(st.ok()) << st.error().message;
        store_ = std::move(st).value();
        auto t = mail::TemplateSet::load(config_->organisation);
        ASSERT_TRUE(t.ok());
        templates_.emplace(std::move(t).value());
        ProcessorDeps d;
        d.config = config_;
        d.spool = &*spool_;
        d.store = store_.get();
        d.keys = &keys_;
        d.templates = &*templates_;
        d.clock = &clock_;
        d.retry_pause = std::chrono::milliseconds(300);
        processor_ = std::make_unique<Processor>(std::move(d));
    }

    // A committed message in incoming/, as the spool writer leaves it.
    std::string put(const std::string& bytes, const std::string& rcpt, std::string id = "") {
        return put_to(bytes, {rcpt}, std::move(id));
    }
    std::string put_to(const std::string& bytes, std::vector<std::string> rcpts,
                       std::string id = "", std::string role = "public",
                       std::string mail_from = "elodie@example.org") {
        spool::Envelope e;
        e.id = id.empty() ? spool_->new_id() : id;
        e.role = std::move(role);
        e.protocol = "ESMTP";
        e.client_address = "192.0.2.1:52000";
        e.helo = "client.example";
        e.mail_from = std::move(mail_from);
        e.recipients = std::move(rcpts);
        e.arrival = t0;
        e.body = "8BITMIME";
        test::write_bytes(spool_->incoming_dir() / (e.id + ".msg"), bytes);
        test::write_bytes(spool_->incoming_dir() / (e.id + ".env"), spool::format_envelope(e));
        return e.id;
    }

    // Processes the citizen's message, then gives the address its referent answers at ("" when
    // something failed, with the failure reported).
    std::string referent_reply_address() {
        EXPECT_EQ(processor_->process(put(citizen_mail, "etat-civil@mairie.example.fr")),
                  Result::done);
        cases::CaseFilter all;
        auto cases = store_->list_cases(all);
        auto party = store_->agent_party("helene");
        if (!cases.ok() || cases->empty() || !party.ok()) {
            ADD_FAILURE() << "no case, or no party for helene";
            return {};
        }
        auto to = agent_reply_address(*config_, keys_, cases->front(), *party);
        EXPECT_TRUE(to.ok());
        return to.ok() ? *to : std::string();
    }

    std::vector<spool::OutgoingItem> items() {
        spool::Outgoing out(*spool_);
        std::vector<spool::OutgoingItem> all;
        for (const std::string& id : out.ids()) all.push_back(*out.item(id));
        return all;
    }

    const std::string citizen_mail =
        "From: Elodie <elodie@example.org>\r\nTo: etat-civil@mairie.example.fr\r\n"
        "Subject: Acte de naissance\r\nMessage-ID: <m1@example.org>\r\n\r\nBonjour\r\n";
    // The citizen's correction, a reply to the message above.
    const std::string follow_up_mail =
        "From: Elodie <elodie@example.org>\r\nTo: etat-civil@mairie.example.fr\r\n"
        "Subject: Re: Acte de naissance\r\nMessage-ID: <m2@example.org>\r\n"
        "In-Reply-To: <m1@example.org>\r\n\r\nJ'oubliais\r\n";

    test::TempDir dir_;
    util::ManualClock clock_{t0};
    util::SequenceRandom random_;
    std::shared_ptr<config::Config> config_ = gateway_config();
    cases::TokenKeys keys_ = cases::TokenKeys::from_secrets({std::string(32, 'k')});
    std::optional<spool::Spool> spool_;
    std::unique_ptr<cases::SqlCaseStore> store_;
    std::optional<mail::TemplateSet> templates_;
    std::unique_ptr<Processor> processor_;
};

TEST_F(ProcessorTest, CitizenMessageBecomesForwardAndAcknowledgement) {
    const std::string id = put(citizen_mail, "etat-civil@mairie.example.fr");
    EXPECT_EQ(processor_->process(id), Result::done);
    EXPECT_TRUE(spool_->incoming_ids().empty());
    auto out = items();
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].kind, "forward");
    EXPECT_EQ(out[0].rcpt, "helene@agents.example.fr");
    EXPECT_EQ(out[1].kind, "acknowledgement");
    EXPECT_EQ(out[1].rcpt, "elodie@example.org");
    EXPECT_TRUE(out[1].mail_from.starts_with("etat-civil+")) << out[1].mail_from;
    EXPECT_EQ(out[0].case_number, out[1].case_number);
    auto bytes = spool::Outgoing(*spool_).bytes(out[0].id, 1 << 20);
    ASSERT_TRUE(bytes.ok());
    EXPECT_NE(bytes->find("-- Referent " + out[0].case_number + " --"), std::string::npos);
}

TEST_F(ProcessorTest, ReplayAfterACrashAddsNothing) {
    const std::string id = put(citizen_mail, "etat-civil@mairie.example.fr");
    ASSERT_EQ(processor_->process(id), Result::done);
    // The crash came after outgoing/ was committed and before incoming/ was cleared.
    put(citizen_mail, "etat-civil@mairie.example.fr", id);
    ASSERT_EQ(processor_->process(id), Result::done);
    EXPECT_EQ(items().size(), 2u);
    cases::CaseFilter all;
    EXPECT_EQ(store_->list_cases(all)->size(), 1u);
}

// The crash came after outgoing/ was committed and before incoming/ was cleared, and after the
// restart the relay delivered the forward (and the store recorded it) before the processor
// replayed the message: the replay finds the acknowledgement's item waiting and makes no
// second one (the items are numbered by their place, delivered or not).
TEST_F(ProcessorTest, ReplayAfterTheForwardWasDeliveredMakesNoSecondAcknowledgement) {
    const std::string id = put(citizen_mail, "etat-civil@mairie.example.fr");
    ASSERT_EQ(processor_->process(id), Result::done);
    auto out = items();
    ASSERT_EQ(out.size(), 2u);
    ASSERT_EQ(out[0].kind, "forward");
    Processor::DeliveryReport delivered{&out[0], true, true, "250 2.0.0 Ok"};
    ASSERT_TRUE(processor_->delivery_results({delivered}).ok());
    ASSERT_TRUE(spool::Outgoing(*spool_).remove(out[0].id).ok());
    put(citizen_mail, "etat-civil@mairie.example.fr", id);
    ASSERT_EQ(processor_->process(id), Result::done);
    auto left = items();
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left[0], out[1]);
}

// SQLite with Durability::caller: the store's commit is on disk only once the spool has
// flushed. Every batch ends with a covering flush, also one that writes no new item (a
// replay), before its input goes.
TEST_F(ProcessorTest, AStoreFlushedByTheSpoolGetsAFlushEvenWithoutNewItems) {
    ProcessorDeps d = processor_->deps();
    d.store_flushed_by_spool = true;
    Processor flushed(d);
    const std::string id = put(citizen_mail, "etat-civil@mairie.example.fr");
    std::uint64_t before = spool_->flush_ticket();
    ASSERT_EQ(flushed.process(id), Result::done);
    EXPECT_EQ(spool_->flush_ticket(), before + 1);
    put(citizen_mail, "etat-civil@mairie.example.fr", id);  // a replay: nothing new
    before = spool_->flush_ticket();
    ASSERT_EQ(flushed.process(id), Result::done);
    EXPECT_EQ(spool_->flush_ticket(), before + 1) << "the replay's store writes are flushed too";
    EXPECT_TRUE(spool_->incoming_ids().empty());
    // Without it, a replay flushes nothing (the store's commit is durable by itself).
    put(citizen_mail, "etat-civil@mairie.example.fr", id);
    before = spool_->flush_ticket();
    ASSERT_EQ(processor_->process(id), Result::done);
    EXPECT_EQ(spool_->flush_ticket(), before);
}

// Such a store that can sync its own log: a lone message with nobody else flushing fsyncs that
// log and its items, not the whole file system; a replay (nothing new) still needs the flush.
TEST_F(ProcessorTest, ALoneMessageSyncsTheStoresLogRatherThanTheFileSystem) {
    ProcessorDeps d = processor_->deps();
    d.store_flushed_by_spool = true;
    int synced = 0;
    d.sync_store = [&] {
        ++synced;
        return util::Status{};
    };
    Processor flushed(d);
    const std::string id = put(citizen_mail, "etat-civil@mairie.example.fr");
    std::this_thread::sleep_for(std::chrono::milliseconds(60));  // nobody flushed lately
    std::uint64_t before = spool_->flush_ticket();
    ASSERT_EQ(flushed.process(id), Result::done);
    EXPECT_EQ(synced, 1);
    EXPECT_EQ(spool_->flush_ticket(), before) << "no syncfs";
    EXPECT_EQ(items().size(), 2u) << "a forward and an acknowledgement";
    EXPECT_TRUE(spool_->incoming_ids().empty());
}

TEST_F(ProcessorTest, WhatCannotBeHandledGoesToCorruptWithItsReason) {
    const std::string stale = put(citizen_mail, "urbanisme@mairie.example.fr");
    EXPECT_EQ(processor_->process(stale), Result::quarantined);
    EXPECT_TRUE(std::filesystem::exists(spool_->corrupt_dir() / (stale + ".reason")));
    EXPECT_NE(test::read_bytes(spool_->corrupt_dir() / (stale + ".reason")).find("service"),
              std::string::npos);
    const std::string broken = spool_->new_id();
    test::write_bytes(spool_->incoming_dir() / (broken + ".msg"), citizen_mail);
    test::write_bytes(spool_->incoming_dir() / (broken + ".env"), "not an envelope\n");
    EXPECT_EQ(processor_->process(broken), Result::quarantined);
    EXPECT_TRUE(spool_->incoming_ids().empty());
    EXPECT_TRUE(items().empty());
    EXPECT_EQ(processor_->stats().quarantined, 2u);
}

TEST_F(ProcessorTest, BatchSharesOneGroupAndGoesOnPastABadMessage) {
    const std::string a = put(citizen_mail, "etat-civil@mairie.example.fr");
    const std::string stale = put(citizen_mail, "urbanisme@mairie.example.fr");
    // The citizen's follow-up, in the same batch: it threads on the first (not yet committed)
    // message's case, and gets no second acknowledgement.
    const std::string b = put(follow_up_mail, "etat-civil@mairie.example.fr");
    const std::vector<Result> got = processor_->process(std::vector{a, stale, b});
    EXPECT_EQ(got, (std::vector{Result::done, Result::quarantined, Result::done}));
    EXPECT_EQ(processor_->stats().batches, 1u);
    EXPECT_TRUE(spool_->incoming_ids().empty());
    EXPECT_TRUE(std::filesystem::exists(spool_->corrupt_dir() / (stale + ".reason")));
    auto out = items();
    ASSERT_EQ(out.size(), 3u);
    std::vector<std::string> kinds;
    for (const auto& i : out) kinds.push_back(i.kind);
    EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "forward"), 2);
    EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "acknowledgement"), 1);
    EXPECT_EQ(out[0].case_number, out[2].case_number);
    cases::CaseFilter all;
    EXPECT_EQ(store_->list_cases(all)->size(), 1u);
}

TEST_F(ProcessorTest, BatchTheStoreCannotCommitIsLeftWholeForLater) {
    const std::string a = put(citizen_mail, "etat-civil@mairie.example.fr");
    const std::string b =
        put("From: Jean <jean@example.org>\r\nTo: etat-civil@mairie.example.fr\r\n"
            "Subject: Mariage\r\nMessage-ID: <j1@example.org>\r\n\r\nBonjour\r\n",
            "etat-civil@mairie.example.fr");
    // Another writer (referentctl, say) holds the database's write lock.
    auto other = cases::sql::open_sqlite((dir_.path() / "cases.db").string(), 200);
    ASSERT_TRUE(other.ok());
    ASSERT_TRUE((*other)->begin().ok());
    EXPECT_EQ(processor_->process(std::vector{a, b}),
              (std::vector{Result::retry_later, Result::retry_later}));
    EXPECT_EQ(spool_->incoming_ids().size(), 2u);
    EXPECT_TRUE(items().empty());
    (*other)->rollback();
    EXPECT_EQ(processor_->process(std::vector{a, b}), (std::vector{Result::done, Result::done}));
    EXPECT_EQ(items().size(), 4u);
    cases::CaseFilter all;
    EXPECT_EQ(store_->list_cases(all)->size(), 2u);
    EXPECT_EQ(processor_->stats().retried, 2u);
}

// A message the store could not take (a database restarting) is tried again retry_pause later
// even when new mail never lets the queue run empty: a steady load does not hold it back.
TEST_F(ProcessorTest, MessageLeftForLaterIsRetriedUnderSteadyLoad) {
    // Long enough after the first try (which waits out the 200 ms busy timeout) for the new
    // mail below to keep the queue busy through many feeds before the retry.
    ProcessorDeps d = processor_->deps();
    d.retry_pause = milliseconds(700);
    processor_ = std::make_unique<Processor>(d);
    auto other = cases::sql::open_sqlite((dir_.path() / "cases.db").string(), 200);
    ASSERT_TRUE(other.ok());
    ASSERT_TRUE((*other)->begin().ok());  // another writer holds the write lock
    const std::string left = put(citizen_mail, "etat-civil@mairie.example.fr");
    processor_->start(1);
    while (processor_->stats().retried == 0) std::this_thread::sleep_for(milliseconds(10));
    (*other)->rollback();
    auto in_incoming = [&](const std::string& id) {
        const auto ids = spool_->incoming_ids();
        return std::find(ids.begin(), ids.end(), id) != ids.end();
    };
    ASSERT_TRUE(in_incoming(left));
    // New mail every 20 ms, until the message left for later is done (or 10 s pass).
    const auto until = std::chrono::steady_clock::now() + seconds(10);
    int fed = 0;
    while (in_incoming(left) && std::chrono::steady_clock::now() < until) {
        const std::string id = put("From: C <c" + std::to_string(fed) +
                                       "@example.org>\r\nSubject: s\r\nMessage-ID: <f" +
                                       std::to_string(fed) + "@example.org>\r\n\r\nBonjour\r\n",
                                   "etat-civil@mairie.example.fr");
        processor_->enqueue(id);
        ++fed;
        std::this_thread::sleep_for(milliseconds(20));
    }
    processor_->stop();
    EXPECT_FALSE(in_incoming(left)) << "still waiting after " << fed << " newer messages";
    EXPECT_GT(fed, 5);
}

// Two workers, one message each: the citizen's first message is held back after it is parsed
// (300 ms), so its follow-up's worker reaches the store first. It waits: the first message
// opens the case and is the one acknowledged (decided the other way round, the store would
// still join them, by the reference, but the acknowledgement would answer the follow-up).
TEST_F(ProcessorTest, AFollowUpIsNeverDecidedBeforeAMessageQueuedAheadOfIt) {
    config_->gateway.processor_batch = 1;
    const std::string first = put(citizen_mail, "etat-civil@mairie.example.fr");
    put(follow_up_mail, "etat-civil@mairie.example.fr");
    ProcessorDeps d = processor_->deps();
    std::atomic<int> held{0};
    d.after_prepare = [&](const std::vector<std::string>& ids) {
        if (ids == std::vector{first}) {
            ++held;
            std::this_thread::sleep_for(milliseconds(300));
        }
    };
    processor_ = std::make_unique<Processor>(d);
    processor_->start(2);  // its rescan queues both, in the spool's order
    for (int i = 0; i < 1000 && processor_->stats().processed < 2; ++i)
        std::this_thread::sleep_for(milliseconds(10));
    processor_->stop();
    ASSERT_EQ(processor_->stats().processed, 2u);
    EXPECT_EQ(held.load(), 1);
    EXPECT_EQ(processor_->stats().batches, 2u) << "one message per batch, as set";
    cases::CaseFilter all;
    EXPECT_EQ(store_->list_cases(all)->size(), 1u);
    auto out = items();
    ASSERT_EQ(out.size(), 3u) << "two forwards, one acknowledgement";
    for (const auto& i : out) EXPECT_EQ(i.case_number, out[0].case_number) << i.id;
    const auto ack = std::find_if(out.begin(), out.end(),
                                  [](const auto& i) { return i.kind == "acknowledgement"; });
    ASSERT_NE(ack, out.end());
    const auto bytes = spool::Outgoing(*spool_).bytes(ack->id, 1 << 20);
    ASSERT_TRUE(bytes.ok());
    EXPECT_NE(bytes->find("In-Reply-To: <m1@example.org>"), std::string::npos)
        << "the acknowledgement answers the first message\n"
        << bytes->substr(0, 800);
}

// An MTA's retry of a message it saw no 250 for (a cut connection, a gateway killed before it
// answered): another spool id, the same message. Recorded in its case, sent nowhere.
TEST_F(ProcessorTest, ASecondDeliveryOfAMessageIsNeitherForwardedNorAcknowledgedAgain) {
    ASSERT_EQ(processor_->process(put(citizen_mail, "etat-civil@mairie.example.fr")), Result::done);
    ASSERT_EQ(items().size(), 2u);
    ASSERT_EQ(processor_->process(put(citizen_mail, "etat-civil@mairie.example.fr")), Result::done);
    EXPECT_TRUE(spool_->incoming_ids().empty());
    EXPECT_EQ(items().size(), 2u) << "one forward, one acknowledgement: the first copy's";
    cases::CaseFilter all;
    auto cases = store_->list_cases(all);
    ASSERT_EQ(cases->size(), 1u);
    auto file = store_->case_file(cases->front().number);
    ASSERT_TRUE(file.ok());
    std::size_t inbound = 0;
    for (const auto& m : file->messages) inbound += m.direction == cases::Direction::in ? 1u : 0u;
    EXPECT_EQ(inbound, 2u) << "both copies are in the case's file";
    EXPECT_EQ(file->messages.size(), 4u) << "and the one forward and acknowledgement";
}

// The referent's reply delivered twice by the organisation's MTA (the same Message-ID): the
// citizen gets it once. A Message-ID past the longest one a reply is keyed by (250 octets) is
// not used: each copy then counts as a reply of its own.
TEST_F(ProcessorTest, AReferentsReplyDeliveredTwiceReachesTheCitizenOnce) {
    const std::string to = referent_reply_address();
    ASSERT_FALSE(to.empty());
    auto replies_after_two_copies = [&](const std::string& message_id) {
        const std::string reply =
            util::cat("From: Helene <helene@agents.example.fr>\r\nTo: ", to,
                      "\r\nSubject: RE: Acte de naissance\r\nMessage-ID: <", message_id,
                      ">\r\nIn-Reply-To: <m1@example.org>\r\n\r\nBonjour, c'est note.\r\n");
        for (int i = 0; i < 2; ++i)
            EXPECT_EQ(processor_->process(
                          put_to(reply, {to}, "", "internal", "helene@agents.example.fr")),
                      Result::done);
        const auto out = items();
        return std::count_if(out.begin(), out.end(),
                             [](const auto& i) { return i.kind == "reply"; });
    };
    // Each message id is a new reply: the count goes on from the previous ones.
    EXPECT_EQ(replies_after_two_copies("r1@agents.example.fr"), 1);
    const std::string at_bound = std::string(250 - 18, 'b') + "@agents.example.fr";
    ASSERT_EQ(at_bound.size(), 250u);
    EXPECT_EQ(replies_after_two_copies(at_bound), 2);
    EXPECT_EQ(replies_after_two_copies("c" + at_bound), 4) << "251 octets: keyed by spool id";
}

// The same for a reply the gateway refuses (here: two mailboxes in From): the agent the
// envelope names is told once.
TEST_F(ProcessorTest, ARefusedReplyDeliveredTwiceTellsTheAgentOnce) {
    const std::string to = referent_reply_address();
    ASSERT_FALSE(to.empty());
    const std::string reply = util::cat(
        "From: Helene <helene@agents.example.fr>, Paul <paul@agents.example.fr>\r\nTo: ", to,
        "\r\nSubject: RE: Acte de naissance\r\nMessage-ID: <r9@agents.example.fr>\r\n"
        "In-Reply-To: <m1@example.org>\r\n\r\nBonjour.\r\n");
    for (int i = 0; i < 2; ++i)
        EXPECT_EQ(
            processor_->process(put_to(reply, {to}, "", "internal", "helene@agents.example.fr")),
            Result::done);
    const auto out = items();
    EXPECT_EQ(std::count_if(out.begin(), out.end(),
                            [](const auto& i) { return i.kind == "reply_refused"; }),
              1);
    EXPECT_EQ(
        std::count_if(out.begin(), out.end(), [](const auto& i) { return i.kind == "reply"; }), 0);
}

// A message to both a case's reply address and its service's address joins that case, whatever
// the envelope's order: the recipient with a token is decided first.
TEST_F(ProcessorTest, ARecipientWithAReplyTokenIsDecidedBeforeTheServicesAddress) {
    ASSERT_EQ(processor_->process(put(citizen_mail, "etat-civil@mairie.example.fr")), Result::done);
    cases::CaseFilter all;
    const cases::Case kase = store_->list_cases(all)->front();
    auto reply_to = citizen_reply_address(*config_, keys_, kase);
    ASSERT_TRUE(reply_to.ok());
    const std::string unrelated =
        "From: Elodie <elodie@example.org>\r\nTo: etat-civil@mairie.example.fr\r\n"
        "Subject: Encore une question\r\nMessage-ID: <m3@example.org>\r\n\r\nBonjour\r\n";
    const std::size_t before = items().size();
    ASSERT_EQ(processor_->process(put_to(unrelated, {"etat-civil@mairie.example.fr", *reply_to})),
              Result::done);
    EXPECT_EQ(store_->list_cases(all)->size(), 1u) << "no new case";
    auto out = items();
    ASSERT_EQ(out.size(), before + 1) << "one forward, no acknowledgement";
    for (const auto& i : out) EXPECT_EQ(i.case_number, kase.number) << i.id;
}

// A quarantine interrupted by a disk fault between its renames left the .msg in corrupt/ and
// the .env in incoming/: the next try finishes the move, rather than retrying for good.
TEST_F(ProcessorTest, AnInterruptedQuarantineIsFinished) {
    const std::string id = put(citizen_mail, "urbanisme@mairie.example.fr");
    const auto in = spool_->incoming_dir() / id, out = spool_->corrupt_dir() / id;
    test::write_bytes(out.string() + ".reason", "no configured service for a recipient\n");
    std::filesystem::rename(in.string() + ".msg", out.string() + ".msg");
    EXPECT_EQ(processor_->process(id), Result::quarantined);
    EXPECT_TRUE(spool_->incoming_ids().empty());
    EXPECT_TRUE(std::filesystem::exists(out.string() + ".env"));
    EXPECT_EQ(test::read_bytes(out.string() + ".msg"), citizen_mail);
    EXPECT_NE(test::read_bytes(out.string() + ".reason").find("no configured service"),
              std::string::npos);
}

// A worker reads and parses a whole batch before deciding it: the batch stops at about one
// maximal message of input (limits.max_message_size), however many are waiting.
TEST_F(ProcessorTest, ABatchHoldsAboutOneMaximalMessageOfInput) {
    auto run_all = [&](std::size_t count, std::size_t body_size) {
        ProcessorDeps d = processor_->deps();
        processor_.reset();
        processor_ = std::make_unique<Processor>(d);
        for (std::size_t i = 0; i < count; ++i) {
            std::string body;
            while (body.size() < body_size) body += std::string(98, 'x') + "\r\n";
            put("From: C" + std::to_string(i) + " <c" + std::to_string(i) +
                    "@example.org>\r\nSubject: Dossier\r\n\r\n" + body,
                "etat-civil@mairie.example.fr");
        }
        const std::uint64_t before = processor_->stats().batches;
        processor_->start(1);
        for (int i = 0; i < 3000 && processor_->stats().processed < count; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        processor_->stop();
        EXPECT_EQ(processor_->stats().processed, count);
        EXPECT_TRUE(spool_->incoming_ids().empty());
        return processor_->stats().batches - before;
    };
    config_->gateway.limits.max_message_size = 100'000;
    EXPECT_EQ(run_all(4, 40'000), 2u);  // two of 40 % fit in a batch, a third does not
    EXPECT_EQ(run_all(4, 1'000), 1u);   // small ones share one batch
}

}  // namespace
}  // namespace referent::pipeline
