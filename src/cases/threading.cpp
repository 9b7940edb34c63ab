// Threading rules: see threading.hpp.
#include "cases/threading.hpp"

#include <cctype>

namespace referent::cases {

namespace {

char lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool is_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// A candidate that closed longer ago than its service allows cannot be reopened.
bool too_old(const ThreadCandidate& c, Instant now) {
    if (c.status == CaseStatus::open || !c.closed) return false;
    return now - *c.closed > std::chrono::days(c.reopen_days);
}

ThreadDecision join(ThreadRule rule, const ThreadCandidate& c, Instant now, std::string why) {
    ThreadDecision d;
    d.rule = rule;
    if (too_old(c, now)) {
        d.rule = ThreadRule::new_case;
        d.predecessor = c.id;
        d.reason = why + "; " + c.number + " closed more than " + std::to_string(c.reopen_days) +
                   " days ago: new case after it";
        return d;
    }
    d.case_id = c.id;
    d.reopen = c.status == CaseStatus::closed;
    d.reason = d.reopen ? why + "; reopened" : why;
    return d;
}

const ThreadCandidate* citizens_case(const std::vector<ThreadCandidate>& cases,
                                     std::string_view sender) {
    for (const ThreadCandidate& c : cases)
        if (same_address(c.citizen_address, sender)) return &c;
    return nullptr;
}

}  // namespace

const char* to_string(ThreadRule r) {
    switch (r) {
        case ThreadRule::duplicate:
            return "duplicate";
        case ThreadRule::token:
            return "token";
        case ThreadRule::reference:
            return "reference";
        case ThreadRule::subject_tag:
            return "subject_tag";
        case ThreadRule::new_case:
            return "new_case";
    }
    return "?";
}

bool same_address(std::string_view a, std::string_view b) {
    if (a.size() != b.size() || a.empty()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

ThreadDecision decide_thread(const ThreadKeys& keys, const ThreadFacts& facts, Instant now) {
    for (const RecordedCopy& copy : facts.same_message) {
        if (copy.kase.service != keys.service || !same_address(copy.sender, keys.sender)) continue;
        ThreadDecision d;
        d.rule = ThreadRule::duplicate;
        d.case_id = copy.kase.id;
        d.reason = "the same message (Message-ID and sender) is in " + copy.kase.number +
                   " already: a second delivery of it";
        return d;
    }
    const bool token_fits =
        facts.by_token && (!keys.token_party || *keys.token_party == facts.by_token->citizen_id);
    if (token_fits) {
        const ThreadCandidate& c = *facts.by_token;
        const bool citizen = same_address(c.citizen_address, keys.sender);
        ThreadDecision d = join(
            ThreadRule::token, c, now,
            citizen ? "reply token of " + c.number
                    : "reply token of " + c.number + " used by another sender than its citizen");
        d.flagged = !citizen;
        return d;
    }
    if (const ThreadCandidate* c = citizens_case(facts.by_reference, keys.sender))
        return join(ThreadRule::reference, *c, now, "In-Reply-To/References name " + c->number);
    if (const ThreadCandidate* c = citizens_case(facts.referenced_by, keys.sender))
        return join(ThreadRule::reference, *c, now,
                    "a follow-up in " + c->number + " names this message");
    if (const ThreadCandidate* c = citizens_case(facts.by_tag, keys.sender))
        return join(ThreadRule::subject_tag, *c, now, "subject tag of " + c->number);
    ThreadDecision d;
    if (!facts.by_reference.empty() || !facts.by_tag.empty() || !facts.referenced_by.empty())
        d.reason = "references or subject tag name another citizen's case: new case";
    else
        d.reason = "no token, reference or tag of a known case: new case";
    return d;
}

std::vector<std::string> subject_case_numbers(std::string_view s, std::size_t max) {
    std::vector<std::string> out;
    for (std::size_t open = s.find('['); open != std::string_view::npos && out.size() < max;
         open = s.find('[', open + 1)) {
        std::size_t close = s.find(']', open);
        if (close == std::string_view::npos) break;
        std::string_view tag = s.substr(open + 1, close - open - 1);
        // PREFIX-YYYY-NNNNNN…
        std::size_t dash1 = tag.find('-');
        if (dash1 == 0 || dash1 == std::string_view::npos || tag.size() < dash1 + 12) continue;
        bool ok = true;
        for (std::size_t i = 0; i < dash1; ++i) ok = ok && is_alnum(tag[i]);
        for (std::size_t i = dash1 + 1; i < dash1 + 5; ++i) ok = ok && is_digit(tag[i]);
        ok = ok && tag[dash1 + 5] == '-';
        for (std::size_t i = dash1 + 6; i < tag.size(); ++i) ok = ok && is_digit(tag[i]);
        if (!ok || tag.size() - (dash1 + 6) < 6) continue;
        std::string number;
        for (char c : tag) number += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        bool seen = false;
        for (const std::string& n : out) seen = seen || n == number;
        if (!seen) out.push_back(std::move(number));
    }
    return out;
}

}  // namespace referent::cases
