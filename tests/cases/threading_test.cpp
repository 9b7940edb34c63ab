// Threading rules as a table: each row is a message's keys, the facts the store found, and the
// decision wanted — the hijack attempts among them.
#include "cases/threading.hpp"

#include <gtest/gtest.h>

#include "cases/token.hpp"

namespace referent::cases {
namespace {

using namespace std::chrono;

const Instant now = sys_days{year{2026} / March / 4} + hours{9};

ThreadCandidate open_case(std::int64_t id, std::string citizen) {
    ThreadCandidate c;
    c.id = id;
    c.number = "EC-2026-" + std::to_string(100000 + id);
    c.citizen_address = std::move(citizen);
    c.reopen_days = 30;
    return c;
}

ThreadCandidate closed_case(std::int64_t id, std::string citizen, int days_ago) {
    ThreadCandidate c = open_case(id, std::move(citizen));
    c.status = CaseStatus::closed;
    c.closed = now - days(days_ago);
    return c;
}

struct Row {
    const char* name;
    ThreadKeys keys;
    ThreadFacts facts;
    ThreadRule rule;
    std::optional<std::int64_t> case_id;
    bool flagged = false;
    bool reopen = false;
    std::optional<std::int64_t> predecessor = std::nullopt;
};

ThreadKeys from(std::string sender, std::string service = "etat-civil") {
    ThreadKeys k;
    k.sender = std::move(sender);
    k.service = std::move(service);
    return k;
}

// An inbound message with this message's Message-ID, from `sender`, in `c` (of etat-civil).
RecordedCopy copy_in(ThreadCandidate c, std::string sender) {
    c.service = "etat-civil";
    return RecordedCopy{std::move(c), std::move(sender)};
}

std::vector<Row> rows() {
    const std::string elodie = "elodie@example.fr", mallory = "mallory@evil.example";
    ThreadFacts token;
    token.by_token = open_case(1, elodie);
    ThreadFacts refs;
    refs.by_reference = {open_case(1, elodie)};
    ThreadFacts tag;
    tag.by_tag = {open_case(1, elodie)};
    ThreadFacts token_and_other_tag = tag;
    token_and_other_tag.by_token = open_case(2, elodie);
    token_and_other_tag.by_tag = {open_case(1, elodie)};
    ThreadFacts two_refs;
    two_refs.by_reference = {open_case(3, mallory), open_case(1, elodie)};
    ThreadFacts ref_and_tag;
    ref_and_tag.by_reference = {open_case(4, elodie)};
    ref_and_tag.by_tag = {open_case(1, elodie)};
    ThreadFacts recent_closed;
    recent_closed.by_reference = {closed_case(1, elodie, 29)};
    ThreadFacts old_closed;
    old_closed.by_reference = {closed_case(1, elodie, 31)};
    ThreadFacts token_other_party = token;
    token_other_party.by_token->citizen_id = 7;
    ThreadKeys party_8 = from(elodie);
    party_8.token_party = 8;
    ThreadFacts token_old;
    token_old.by_token = closed_case(1, elodie, 45);
    ThreadFacts named_by_follow_up;  // its follow-up got there first and opened case 5
    named_by_follow_up.referenced_by = {open_case(5, elodie)};
    ThreadFacts named_and_tag = named_by_follow_up;
    named_and_tag.by_tag = {open_case(1, elodie)};
    ThreadFacts ref_and_named = refs;
    ref_and_named.referenced_by = {open_case(5, elodie)};
    ThreadFacts sent_before;  // the same message, from Elodie, is in case 6
    sent_before.same_message = {copy_in(open_case(6, elodie), elodie)};
    ThreadFacts sent_before_and_token = sent_before;
    sent_before_and_token.by_token = open_case(1, elodie);
    sent_before_and_token.by_reference = {open_case(4, elodie)};
    ThreadFacts sent_before_closed;
    sent_before_closed.same_message = {copy_in(closed_case(6, elodie, 45), elodie)};
    ThreadFacts stranger_copy_first;  // Mallory's copy first, then Elodie's
    stranger_copy_first.same_message = {copy_in(open_case(7, mallory), mallory),
                                        copy_in(open_case(6, elodie), elodie)};
    return {
        {"second delivery of the same message", from(elodie), sent_before, ThreadRule::duplicate,
         6},
        {"second delivery, sender case differs", from("Elodie@Example.fr"), sent_before,
         ThreadRule::duplicate, 6},
        {"duplicate beats token and references", from(elodie), sent_before_and_token,
         ThreadRule::duplicate, 6},
        {"duplicate in a case closed long ago: joined, not reopened", from(elodie),
         sent_before_closed, ThreadRule::duplicate, 6},
        {"the sender's own copy, not a stranger's", from(elodie), stranger_copy_first,
         ThreadRule::duplicate, 6},
        {"a citizen's Message-ID reused by a stranger", from(mallory), sent_before,
         ThreadRule::new_case, std::nullopt},
        {"the same message to another service", from(elodie, "urbanisme"), sent_before,
         ThreadRule::new_case, std::nullopt},
        {"empty sender is never a duplicate", from(""), sent_before, ThreadRule::new_case,
         std::nullopt},
        {"token of the citizen", from(elodie), token, ThreadRule::token, 1},
        {"token, sender case differs", from("ELODIE@Example.FR"), token, ThreadRule::token, 1},
        {"token of a spouse: flagged", from("marc@example.fr"), token, ThreadRule::token, 1, true},
        {"token minted for another party: ignored", party_8, token_other_party,
         ThreadRule::new_case, std::nullopt},
        {"token beats a subject tag of another case", from(elodie), token_and_other_tag,
         ThreadRule::token, 2},
        {"reference of the citizen", from(elodie), refs, ThreadRule::reference, 1},
        {"forged In-Reply-To by a stranger", from(mallory), refs, ThreadRule::new_case,
         std::nullopt},
        {"references to two cases: the sender's", from(elodie), two_refs, ThreadRule::reference, 1},
        {"reference beats tag", from(elodie), ref_and_tag, ThreadRule::reference, 4},
        {"tag of the citizen", from(elodie), tag, ThreadRule::subject_tag, 1},
        {"stranger with another citizen's case tag", from(mallory), tag, ThreadRule::new_case,
         std::nullopt},
        {"empty sender never matches", from(""), tag, ThreadRule::new_case, std::nullopt},
        {"nothing known", from(elodie), ThreadFacts{}, ThreadRule::new_case, std::nullopt},
        {"closed 29 days ago: reopened", from(elodie), recent_closed, ThreadRule::reference, 1,
         false, true},
        {"closed 31 days ago: successor", from(elodie), old_closed, ThreadRule::new_case,
         std::nullopt, false, false, 1},
        {"token of a case closed long ago: successor", from(elodie), token_old,
         ThreadRule::new_case, std::nullopt, false, false, 1},
        {"named by the citizen's follow-up", from(elodie), named_by_follow_up,
         ThreadRule::reference, 5},
        {"named by another citizen's message: a stranger", from(mallory), named_by_follow_up,
         ThreadRule::new_case, std::nullopt},
        {"named by a follow-up beats a tag", from(elodie), named_and_tag, ThreadRule::reference, 5},
        {"own references beat being named", from(elodie), ref_and_named, ThreadRule::reference, 1},
    };
}

TEST(Threading, Table) {
    for (const Row& r : rows()) {
        SCOPED_TRACE(r.name);
        ThreadDecision d = decide_thread(r.keys, r.facts, now);
        EXPECT_EQ(d.rule, r.rule);
        EXPECT_EQ(d.case_id, r.case_id);
        EXPECT_EQ(d.flagged, r.flagged);
        EXPECT_EQ(d.reopen, r.reopen);
        EXPECT_EQ(d.predecessor, r.predecessor);
        EXPECT_FALSE(d.reason.empty());
    }
}

// What reaches threading from a recipient address: only a token that verifies names a case.
// A bit-flipped, truncated or foreign-key token names nothing, so the message is threaded by
// its other keys or opens a case of its own.
TEST(Threading, TamperedTokensNameNoCase) {
    const TokenKeys keys = TokenKeys::from_secrets({std::string(32, 'k')});
    const TokenKeys other = TokenKeys::from_secrets({std::string(32, 'o')});
    const std::string token = keys.mint({TokenPurpose::citizen_reply, 1, 8});
    std::string flipped = token;
    flipped[5] = flipped[5] == 'a' ? 'b' : 'a';
    for (const std::string& t : {flipped, token.substr(0, 31), token + "a",
                                 other.mint({TokenPurpose::citizen_reply, 1, 8})}) {
        ThreadKeys k = from("mallory@evil.example");
        if (auto claims = keys.verify(t)) k.token_case = claims->case_id;
        ThreadFacts f;
        if (k.token_case) f.by_token = open_case(1, "elodie@example.fr");
        EXPECT_EQ(decide_thread(k, f, now).rule, ThreadRule::new_case) << t;
    }
    ASSERT_TRUE(keys.verify(token));
}

TEST(Threading, SubjectCaseNumbers) {
    struct Case {
        const char* subject;
        std::vector<std::string> want;
    };
    const Case cases[] = {
        {"Re: [EC-2026-000042] Acte", {"EC-2026-000042"}},
        {"[ec-2026-000042] lower case", {"EC-2026-000042"}},
        {"[EC-2026-000042] [URB-2025-000007] [EC-2026-000042]",
         {"EC-2026-000042", "URB-2025-000007"}},
        {"[EC-2026-1234567] seven digits", {"EC-2026-1234567"}},
        {"[EC-2026-00004] five digits", {}},
        {"[EC-26-000042] short year", {}},
        {"[-2026-000042] no prefix", {}},
        {"[EC 2026 000042]", {}},
        {"EC-2026-000042 without brackets", {}},
        {"[EC-2026-000042", {}},
        {"[[EC-2026-000042]]", {"EC-2026-000042"}},
        {"", {}},
    };
    for (const Case& c : cases) EXPECT_EQ(subject_case_numbers(c.subject, 10), c.want) << c.subject;
    EXPECT_EQ(subject_case_numbers("[A-2026-000001] [B-2026-000002] [C-2026-000003]", 2).size(),
              2u);
}

TEST(Threading, SameAddressIsCaseInsensitiveAndWhole) {
    EXPECT_TRUE(same_address("Elodie@Example.fr", "elodie@example.FR"));
    EXPECT_FALSE(same_address("elodie@example.fr", "elodie@example.fr.evil"));
    EXPECT_FALSE(same_address("", ""));
}

}  // namespace
}  // namespace referent::cases
