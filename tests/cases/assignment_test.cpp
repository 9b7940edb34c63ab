// tests/cases/assignment_test.cpp — who gets a new case under each policy, who reads a case's
// mail during an absence, and the absences of the configuration. Table-driven got/want with the
// reason line the event log will carry.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "cases/assignment.hpp"
#include "config/config.hpp"

namespace referent::cases {
namespace {

using namespace std::chrono;
using config::Assignment;

// Wednesday 8 April 2026.
constexpr year_month_day today = 2026y / April / 8;
constexpr year_month_day yesterday = 2026y / April / 7;
constexpr year_month_day tomorrow = 2026y / April / 9;

std::string iso(year_month_day d) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(d.year()),
                  static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
    return buf;
}

Candidate agent(const char* id, std::uint32_t open, std::uint32_t max = 10) {
    return {id, open, max};
}

AbsencePeriod away(const char* id, year_month_day from, year_month_day to,
                   const char* delegate = "") {
    return {id, from, to, delegate};
}

struct Row {
    const char* name;
    AssignmentInput in;
    const char* agent;  // "" = the fallback mailbox
    const char* rule;
    const char* reason;
};

void expect_rows(const std::vector<Row>& rows) {
    for (const Row& row : rows) {
        const AssignmentDecision got = choose_referent(row.in);
        EXPECT_EQ(got.agent.value_or(""), row.agent) << row.name;
        EXPECT_EQ(got.rule, row.rule) << row.name;
        EXPECT_EQ(got.reason, row.reason) << row.name;
    }
}

// Three agents with nothing open, Assignment `policy`; rows adjust them.
AssignmentInput three(Assignment policy) {
    return {.policy = policy,
            .candidates = {agent("alice", 0), agent("bob", 0), agent("carol", 0)},
            .absences = {},
            .today = today,
            .previous = std::nullopt,
            .last_assigned = std::nullopt};
}

// `in` with the given round-robin cursor and absences.
AssignmentInput with(AssignmentInput in, std::optional<std::string> cursor,
                     std::vector<AbsencePeriod> absences = {}) {
    in.last_assigned = std::move(cursor);
    in.absences = std::move(absences);
    return in;
}

// `in` with these candidates instead.
AssignmentInput loads(AssignmentInput in, std::vector<Candidate> candidates) {
    in.candidates = std::move(candidates);
    return in;
}

TEST(AssignmentRoundRobin, Table) {
    const AssignmentInput rr = three(Assignment::round_robin);
    expect_rows({
        {"next after the cursor", with(rr, "alice"), "bob", "round_robin",
         "bob is next in turn after alice"},
        {"the cursor on the last wraps to the first", with(rr, "carol"), "alice", "round_robin",
         "alice is next in turn after carol"},
        {"no cursor yet: the first", with(rr, std::nullopt), "alice", "round_robin",
         "alice is next in turn from the first candidate"},
        {"cursor names a removed agent: the first", with(rr, "zoe"), "alice", "round_robin",
         "alice is next in turn from the first candidate (zoe is no longer a candidate)"},
        {"absent today is skipped", with(rr, "alice", {away("bob", yesterday, tomorrow)}), "carol",
         "round_robin", "carol is next in turn after alice; skipped bob (absent)"},
        {"absence starting today is skipped", with(rr, "alice", {away("bob", today, tomorrow)}),
         "carol", "round_robin", "carol is next in turn after alice; skipped bob (absent)"},
        {"absence ending today is skipped", with(rr, "alice", {away("bob", yesterday, today)}),
         "carol", "round_robin", "carol is next in turn after alice; skipped bob (absent)"},
        {"absence ended yesterday", with(rr, "alice", {away("bob", 2026y / April / 1, yesterday)}),
         "bob", "round_robin", "bob is next in turn after alice"},
        {"absence starts tomorrow", with(rr, "alice", {away("bob", tomorrow, 2026y / April / 20)}),
         "bob", "round_robin", "bob is next in turn after alice"},
        {"someone else's absence", with(rr, "alice", {away("carol", yesterday, tomorrow)}), "bob",
         "round_robin", "bob is next in turn after alice"},
        {"skipping wraps past the end", with(rr, "bob", {away("carol", today, today)}), "alice",
         "round_robin", "alice is next in turn after bob; skipped carol (absent)"},
        {"at capacity is skipped",
         with(loads(rr, {agent("alice", 0), agent("bob", 10), agent("carol", 0)}), "alice"),
         "carol", "round_robin",
         "carol is next in turn after alice; skipped bob (at capacity, 10 of 10)"},
        {"one below capacity is taken, whatever the loads",
         with(loads(rr, {agent("alice", 0), agent("bob", 9), agent("carol", 0)}), "alice"), "bob",
         "round_robin", "bob is next in turn after alice"},
        {"a single agent follows itself", with(loads(rr, {agent("alice", 3)}), "alice"), "alice",
         "round_robin", "alice is next in turn after alice"},
        {"everyone else away: the cursor itself",
         with(rr, "alice", {away("bob", today, today), away("carol", today, today)}), "alice",
         "round_robin", "alice is next in turn after alice; skipped bob (absent), carol (absent)"},
    });
}

TEST(AssignmentLeastLoaded, Table) {
    const AssignmentInput ll = loads(three(Assignment::least_loaded),
                                     {agent("alice", 3), agent("bob", 1), agent("carol", 2)});
    const AssignmentInput tied = three(Assignment::least_loaded);
    const AssignmentInput pair = loads(three(Assignment::least_loaded),
                                       {agent("alice", 2), agent("bob", 1), agent("carol", 1)});
    expect_rows({
        {"fewest open cases", ll, "bob", "least_loaded", "bob has the fewest open cases (1 of 10)"},
        {"the cursor does not matter without a tie", with(ll, "bob"), "bob", "least_loaded",
         "bob has the fewest open cases (1 of 10)"},
        {"tie, no cursor: the first", tied, "alice", "least_loaded",
         "alice has the fewest open cases (0 of 10), tie broken in turn from the first candidate"},
        {"tie: the one after the cursor", with(tied, "alice"), "bob", "least_loaded",
         "bob has the fewest open cases (0 of 10), tie broken in turn after alice"},
        {"tie: after the last, wrap", with(tied, "carol"), "alice", "least_loaded",
         "alice has the fewest open cases (0 of 10), tie broken in turn after carol"},
        {"tie: removed cursor, the first", with(tied, "zoe"), "alice", "least_loaded",
         "alice has the fewest open cases (0 of 10), tie broken in turn from the first candidate "
         "(zoe is no longer a candidate)"},
        {"tie among two, cursor between", with(pair, "bob"), "carol", "least_loaded",
         "carol has the fewest open cases (1 of 10), tie broken in turn after bob"},
        {"tie among two, cursor on the second", with(pair, "carol"), "bob", "least_loaded",
         "bob has the fewest open cases (1 of 10), tie broken in turn after carol"},
        {"least loaded absent today", with(ll, std::nullopt, {away("bob", today, tomorrow)}),
         "carol", "least_loaded",
         "carol has the fewest open cases (2 of 10); skipped bob (absent)"},
        {"least loaded back today",
         with(ll, std::nullopt, {away("bob", 2026y / March / 30, yesterday)}), "bob",
         "least_loaded", "bob has the fewest open cases (1 of 10)"},
        {"least loaded at capacity",
         loads(ll, {agent("alice", 3), agent("bob", 1, 1), agent("carol", 2)}), "carol",
         "least_loaded",
         "carol has the fewest open cases (2 of 10); skipped bob (at capacity, 1 of 1)"},
        {"least loaded one below capacity",
         loads(ll, {agent("alice", 3), agent("bob", 1, 2), agent("carol", 2)}), "bob",
         "least_loaded", "bob has the fewest open cases (1 of 2)"},
        {"a maximum of 0 takes nothing",
         loads(ll, {agent("alice", 3), agent("bob", 0, 0), agent("carol", 2)}), "carol",
         "least_loaded",
         "carol has the fewest open cases (2 of 10); skipped bob (at capacity, 0 of 0)"},
    });
}

TEST(AssignmentSticky, Table) {
    AssignmentInput st =
        loads(three(Assignment::sticky), {agent("alice", 5), agent("bob", 1), agent("carol", 2)});
    st.previous = "alice";
    AssignmentInput none = st;
    none.previous = std::nullopt;
    AssignmentInput gone = st;
    gone.previous = "zoe";
    AssignmentInput tied = three(Assignment::sticky);
    tied.previous = "carol";
    expect_rows({
        {"previous available, though busier", st, "alice", "sticky",
         "previous referent alice is available"},
        {"previous back from an absence ended yesterday",
         with(st, std::nullopt, {away("alice", 2026y / April / 1, yesterday)}), "alice", "sticky",
         "previous referent alice is available"},
        {"previous absent from tomorrow",
         with(st, std::nullopt, {away("alice", tomorrow, tomorrow)}), "alice", "sticky",
         "previous referent alice is available"},
        {"previous absent today: least loaded",
         with(st, std::nullopt, {away("alice", today, today, "carol")}), "bob", "least_loaded",
         "previous referent alice absent on 2026-04-08; bob has the fewest open cases (1 of 10); "
         "skipped alice (absent)"},
        {"previous at capacity: least loaded",
         loads(st, {agent("alice", 10), agent("bob", 1), agent("carol", 2)}), "bob", "least_loaded",
         "previous referent alice at capacity (10 of 10); bob has the fewest open cases (1 of 10); "
         "skipped alice (at capacity, 10 of 10)"},
        {"previous one below capacity",
         loads(st, {agent("alice", 9), agent("bob", 1), agent("carol", 2)}), "alice", "sticky",
         "previous referent alice is available"},
        {"previous no longer a candidate", gone, "bob", "least_loaded",
         "previous referent zoe is no longer a candidate; bob has the fewest open cases (1 of 10)"},
        {"no previous referent", none, "bob", "least_loaded",
         "no previous referent; bob has the fewest open cases (1 of 10)"},
        {"no previous, tie after the cursor", with(three(Assignment::sticky), "alice"), "bob",
         "least_loaded",
         "no previous referent; bob has the fewest open cases (0 of 10), tie broken in turn after "
         "alice"},
        {"previous wins a tie whatever the cursor", with(tied, "alice"), "carol", "sticky",
         "previous referent carol is available"},
    });
}

TEST(AssignmentFallback, NobodyAvailableUnderEveryPolicy) {
    for (const Assignment policy :
         {Assignment::sticky, Assignment::least_loaded, Assignment::round_robin}) {
        AssignmentInput everyone_absent =
            with(three(policy), "alice",
                 {away("alice", yesterday, today), away("bob", today, tomorrow, "alice"),
                  away("carol", today, today)});
        everyone_absent.previous = "bob";
        AssignmentInput everyone_full =
            loads(three(policy), {agent("alice", 10), agent("bob", 3, 3), agent("carol", 12)});
        everyone_full.previous = "alice";
        const AssignmentInput mixed =
            with(loads(three(policy), {agent("alice", 10), agent("bob", 0), agent("carol", 5, 5)}),
                 "carol", {away("bob", today, today)});
        // Absent and at capacity at once counts as absent.
        const AssignmentInput absent_and_full = with(
            loads(three(policy), {agent("alice", 10), agent("bob", 0), agent("carol", 0)}),
            std::nullopt,
            {away("alice", today, today), away("bob", today, today), away("carol", today, today)});
        AssignmentInput empty = three(policy);
        empty.candidates.clear();
        empty.previous = "alice";
        empty.last_assigned = "alice";
        SCOPED_TRACE(static_cast<int>(policy));
        expect_rows({
            {"everyone absent", everyone_absent, "", "fallback",
             "every agent absent on 2026-04-08 (alice, bob, carol)"},
            {"everyone at capacity", everyone_full, "", "fallback",
             "every agent at capacity (alice 10 of 10, bob 3 of 3, carol 12 of 10)"},
            {"some absent, the others at capacity", mixed, "", "fallback",
             "no agent available on 2026-04-08: alice (at capacity, 10 of 10), bob (absent), carol "
             "(at capacity, 5 of 5)"},
            {"absent and at capacity", absent_and_full, "", "fallback",
             "every agent absent on 2026-04-08 (alice, bob, carol)"},
            {"no candidates", empty, "", "fallback", "no agents in the service"},
        });
    }
}

TEST(AssignmentAbsenceOn, LatestStartWinsAndBoundsAreInclusive) {
    const std::vector<AbsencePeriod> absences = {
        away("alice", 2026y / April / 1, 2026y / April / 30, "bob"),
        away("alice", 2026y / April / 7, 2026y / April / 10, "carol"),
        away("alice", 2026y / April / 7, 2026y / April / 9, "dave"),  // same start: first listed
        away("bob", 2026y / April / 8, 2026y / April / 8),
    };
    struct Probe {
        const char* agent;
        year_month_day day;
        const char* delegate;  // of the absence found; nullptr = none found
    };
    const Probe probes[] = {
        {"alice", 2026y / March / 31, nullptr}, {"alice", 2026y / April / 1, "bob"},
        {"alice", 2026y / April / 6, "bob"},    {"alice", 2026y / April / 7, "carol"},
        {"alice", 2026y / April / 10, "carol"}, {"alice", 2026y / April / 11, "bob"},
        {"alice", 2026y / April / 30, "bob"},   {"alice", 2026y / May / 1, nullptr},
        {"bob", 2026y / April / 7, nullptr},    {"bob", 2026y / April / 8, ""},
        {"bob", 2026y / April / 9, nullptr},    {"carol", 2026y / April / 8, nullptr},
    };
    for (const Probe& p : probes) {
        const std::optional<AbsencePeriod> got = absence_on(absences, p.agent, p.day);
        const std::string where = std::string(p.agent) + " on " + iso(p.day);
        ASSERT_EQ(got.has_value(), p.delegate != nullptr) << where;
        if (got) {
            EXPECT_EQ(got->delegate, p.delegate) << where;
            EXPECT_EQ(got->agent, p.agent) << where;
        }
    }
}

TEST(Covering, Table) {
    struct CoverRow {
        const char* name;
        std::vector<AbsencePeriod> absences;
        const char* want;        // "" = nobody named: the service's fallback
        const char* away_until;  // end of the absence reported, "" = none
    };
    const year_month_day end_of_april = 2026y / April / 30;
    const CoverRow rows[] = {
        {"present", {}, "alice", ""},
        {"someone else absent", {away("bob", today, today)}, "alice", ""},
        {"absence ended yesterday",
         {away("alice", 2026y / April / 1, yesterday, "bob")},
         "alice",
         ""},
        {"absence starts tomorrow", {away("alice", tomorrow, end_of_april, "bob")}, "alice", ""},
        {"absent, delegate present", {away("alice", today, today, "bob")}, "bob", "2026-04-08"},
        {"absent, delegate absent too",
         {away("alice", yesterday, tomorrow, "bob"), away("bob", today, today, "carol")},
         "",
         "2026-04-09"},
        {"absent, delegate away another day",
         {away("alice", yesterday, tomorrow, "bob"), away("bob", tomorrow, tomorrow)},
         "bob",
         "2026-04-09"},
        {"absent, no delegate", {away("alice", yesterday, end_of_april)}, "", "2026-04-30"},
        {"overlap: the latest start wins",
         {away("alice", 2026y / April / 1, end_of_april, "bob"),
          away("alice", yesterday, tomorrow, "carol")},
         "carol",
         "2026-04-09"},
        {"overlap listed the other way round",
         {away("alice", yesterday, tomorrow, "carol"),
          away("alice", 2026y / April / 1, end_of_april, "bob")},
         "carol",
         "2026-04-09"},
        {"overlap: the latest has no delegate",
         {away("alice", 2026y / April / 1, end_of_april, "bob"), away("alice", today, today)},
         "",
         "2026-04-08"},
    };
    for (const CoverRow& row : rows) {
        const Covering got = covering("alice", row.absences, today);
        EXPECT_EQ(got.agent.value_or(""), row.want) << row.name;
        EXPECT_EQ(got.absence ? iso(got.absence->to) : "", row.away_until) << row.name;
        EXPECT_EQ(got.absence ? got.absence->agent : "alice", "alice") << row.name;
    }
}

TEST(Covering, DelegatesAreNotChained) {
    // alice → bob, but bob is away too (→ carol): one hop only, the service's fallback decides.
    const std::vector<AbsencePeriod> absences = {away("alice", today, today, "bob"),
                                                 away("bob", today, today, "carol")};
    const Covering got = covering("alice", absences, today);
    EXPECT_FALSE(got.agent.has_value());
    ASSERT_TRUE(got.absence.has_value());
    EXPECT_EQ(got.absence->delegate, "bob");
    EXPECT_EQ(covering("bob", absences, today).agent.value_or(""), "carol");
}

TEST(AssignmentConfig, AbsencesOfTheConfiguration) {
    config::Config cfg;
    config::Agent alice;
    alice.id = "alice";
    alice.absences = {{{2026, 4, 1}, {2026, 4, 30}, "bob"}, {{2026, 12, 24}, {2027, 1, 3}, ""}};
    config::Agent bob;
    bob.id = "bob";
    config::Agent carol;
    carol.id = "carol";
    carol.absences = {{{2024, 2, 29}, {2024, 2, 29}, "alice"}};
    cfg.agents = {alice, bob, carol};

    const std::vector<AbsencePeriod> got = config_absences(cfg);
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[0].agent, "alice");
    EXPECT_EQ(iso(got[0].from), "2026-04-01");
    EXPECT_EQ(iso(got[0].to), "2026-04-30");
    EXPECT_EQ(got[0].delegate, "bob");
    EXPECT_EQ(got[1].agent, "alice");
    EXPECT_EQ(iso(got[1].from), "2026-12-24");
    EXPECT_EQ(iso(got[1].to), "2027-01-03");
    EXPECT_EQ(got[1].delegate, "");
    EXPECT_EQ(got[2].agent, "carol");
    EXPECT_EQ(iso(got[2].from), "2024-02-29");
    EXPECT_EQ(iso(got[2].to), "2024-02-29");
    EXPECT_EQ(got[2].delegate, "alice");
    EXPECT_TRUE(got[2].from.ok());

    EXPECT_TRUE(config_absences(config::Config{}).empty());
}

}  // namespace
}  // namespace referent::cases
