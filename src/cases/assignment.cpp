#include "cases/assignment.hpp"

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <utility>

namespace referent::cases {

namespace {

using std::chrono::year_month_day;

std::string iso(year_month_day d) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(d.year()),
                  static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
    return buf;
}

enum class Availability { available, absent, at_capacity };

Availability availability(const AssignmentInput& in, const Candidate& c) {
    if (absence_on(in.absences, c.agent, in.today)) return Availability::absent;
    if (c.open_cases >= c.max_open_cases) return Availability::at_capacity;
    return Availability::available;
}

std::string load(const Candidate& c) {
    return std::to_string(c.open_cases) + " of " + std::to_string(c.max_open_cases);
}

// Why `c` cannot take the case, e.g. "alice (absent)".
std::string unavailable(const AssignmentInput& in, const Candidate& c) {
    if (availability(in, c) == Availability::absent) return c.agent + " (absent)";
    return c.agent + " (at capacity, " + load(c) + ")";
}

const Candidate* find(const std::vector<Candidate>& candidates, const std::string& agent) {
    for (const Candidate& c : candidates)
        if (c.agent == agent) return &c;
    return nullptr;
}

// The candidates in round-robin order: those after the cursor, wrapping, the cursor last. A
// cursor that names no candidate (none yet, or an agent since removed) starts at the first.
std::vector<const Candidate*> in_turn(const AssignmentInput& in) {
    const std::vector<Candidate>& all = in.candidates;
    std::size_t start = 0;
    if (in.last_assigned)
        for (std::size_t i = 0; i < all.size(); ++i)
            if (all[i].agent == *in.last_assigned) start = i + 1;
    std::vector<const Candidate*> order;
    order.reserve(all.size());
    for (std::size_t k = 0; k < all.size(); ++k) order.push_back(&all[(start + k) % all.size()]);
    return order;
}

// Where the turn started, for the reason: "after bob", "from the first candidate".
std::string turn_origin(const AssignmentInput& in) {
    if (!in.last_assigned) return "from the first candidate";
    if (!find(in.candidates, *in.last_assigned))
        return "from the first candidate (" + *in.last_assigned + " is no longer a candidate)";
    return "after " + *in.last_assigned;
}

AssignmentDecision fallback(const AssignmentInput& in) {
    if (in.candidates.empty()) return {std::nullopt, "fallback", "no agents in the service"};
    std::string absent;
    std::string full;
    std::string each;
    for (const Candidate& c : in.candidates) {
        if (availability(in, c) == Availability::absent)
            absent += (absent.empty() ? "" : ", ") + c.agent;
        else
            full += (full.empty() ? "" : ", ") + c.agent + " " + load(c);
        each += (each.empty() ? "" : ", ") + unavailable(in, c);
    }
    const std::string day = iso(in.today);
    std::string reason;
    if (full.empty())
        reason = "every agent absent on " + day + " (" + absent + ")";
    else if (absent.empty())
        reason = "every agent at capacity (" + full + ")";
    else
        reason = "no agent available on " + day + ": " + each;
    return {std::nullopt, "fallback", reason};
}

// Among the available candidates in turn order: the first (round_robin) or the first with the
// fewest open cases (least_loaded). Unavailable ones passed over are named in the reason.
AssignmentDecision pick(const AssignmentInput& in, config::Assignment policy, std::string prefix) {
    const bool round_robin = policy == config::Assignment::round_robin;
    const Candidate* chosen = nullptr;
    std::size_t ties = 0;
    std::string skipped;
    for (const Candidate* c : in_turn(in)) {
        if (availability(in, *c) != Availability::available) {
            skipped += (skipped.empty() ? "" : ", ") + unavailable(in, *c);
        } else if (!chosen || c->open_cases < chosen->open_cases) {
            chosen = c;
            ties = 0;
            if (round_robin) break;
        } else if (c->open_cases == chosen->open_cases) {
            ++ties;
        }
    }
    if (!chosen) return fallback(in);
    std::string reason = std::move(prefix) + chosen->agent;
    if (round_robin)
        reason += " is next in turn " + turn_origin(in);
    else
        reason += " has the fewest open cases (" + load(*chosen) + ")";
    if (ties > 0) reason += ", tie broken in turn " + turn_origin(in);
    if (!skipped.empty()) reason += "; skipped " + skipped;
    return {chosen->agent, round_robin ? "round_robin" : "least_loaded", reason};
}

}  // namespace

AssignmentDecision choose_referent(const AssignmentInput& in) {
    if (in.candidates.empty()) return fallback(in);
    constexpr auto least_loaded = config::Assignment::least_loaded;
    if (in.policy != config::Assignment::sticky) return pick(in, in.policy, "");
    if (!in.previous) return pick(in, least_loaded, "no previous referent; ");
    const std::string& previous = *in.previous;
    const Candidate* c = find(in.candidates, previous);
    if (!c)
        return pick(in, least_loaded,
                    "previous referent " + previous + " is no longer a candidate; ");
    switch (availability(in, *c)) {
        case Availability::available:
            return {previous, "sticky", "previous referent " + previous + " is available"};
        case Availability::absent:
            return pick(in, least_loaded,
                        "previous referent " + previous + " absent on " + iso(in.today) + "; ");
        case Availability::at_capacity:
            return pick(in, least_loaded,
                        "previous referent " + previous + " at capacity (" + load(*c) + "); ");
    }
    std::abort();  // not an Availability
}

std::optional<AbsencePeriod> absence_on(const std::vector<AbsencePeriod>& absences,
                                        const std::string& agent, year_month_day day) {
    // Of overlapping absences the latest-starting one is the most specific; on equal starts the
    // first listed wins, so the answer never depends on anything but the list.
    const AbsencePeriod* latest = nullptr;
    for (const AbsencePeriod& a : absences) {
        if (a.agent != agent || day < a.from || a.to < day) continue;
        if (!latest || latest->from < a.from) latest = &a;
    }
    if (!latest) return std::nullopt;
    return *latest;
}

Covering covering(const std::string& referent, const std::vector<AbsencePeriod>& absences,
                  year_month_day day) {
    std::optional<AbsencePeriod> away = absence_on(absences, referent, day);
    if (!away) return {referent, std::nullopt};
    // A delegate's own delegate is not followed: past one hop the service's fallback decides.
    const std::string& delegate = away->delegate;
    if (delegate.empty() || absence_on(absences, delegate, day)) return {std::nullopt, away};
    return {delegate, away};
}

std::vector<AbsencePeriod> config_absences(const config::Config& config) {
    const auto civil = [](const config::Date& d) {
        return year_month_day{std::chrono::year{d.year}, std::chrono::month{d.month},
                              std::chrono::day{d.day}};
    };
    std::vector<AbsencePeriod> periods;
    for (const config::Agent& agent : config.agents)
        for (const config::Absence& a : agent.absences)
            periods.push_back({agent.id, civil(a.from), civil(a.to), a.delegate});
    return periods;
}

}  // namespace referent::cases
