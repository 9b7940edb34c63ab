// referentctl stats: see stats_command.hpp.
#include "ops/stats_command.hpp"

#include <algorithm>
#include <cstdio>
#include <map>

#include "cases/calendar.hpp"
#include "ops/output.hpp"
#include "ops/session.hpp"

namespace referent::ops {

namespace {

constexpr const char* usage =
    "usage: referentctl stats [--since YYYY-MM-DD] [--json]\n"
    "  per service and referent, over the cases opened since the date (default: the last 30\n"
    "  days): cases, open, overdue, answered, median first response in working hours, handed\n"
    "  over\n";

struct Row {
    std::uint64_t cases = 0, open = 0, overdue = 0, answered = 0, handed_over = 0;
    std::vector<double> response_hours;
};

std::optional<double> median(std::vector<double> v) {
    if (v.empty()) return std::nullopt;
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string hours_text(std::optional<double> h) {
    if (!h) return "-";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", *h);
    return buf;
}

}  // namespace

int stats_command(const std::string& config_path, const std::vector<std::string>& args,
                  std::ostream& out, std::ostream& err) {
    Args a = Args::parse(args, {"--json"}, {"--since"});
    if (a.has("--help")) return out << usage, 0;
    std::optional<std::chrono::year_month_day> since;
    if (auto s = a.option("--since")) since = parse_day(*s);
    if (!a.error.empty() || !a.positional.empty() || (a.option("--since") && !since)) {
        err << "referentctl: stats: " << (a.error.empty() ? "want [--since YYYY-MM-DD]" : a.error)
            << '\n'
            << usage;
        return 2;
    }
    int rc = 0;
    auto s = open_store(config_path, "stats", err, rc);
    if (!s) return rc;
    const auto now = s->clock.now();
    const auto today = cases::local_date(now);
    if (!since)
        since = std::chrono::year_month_day{std::chrono::sys_days(today) - std::chrono::days(30)};
    auto activity = s->store->activity(cases::local_midnight(*since));
    if (!activity) return store_error(activity.error(), "stats", err);
    const cases::Holidays holidays = cases::holidays_from(s->config->organisation.holidays);
    std::map<std::pair<std::string, std::string>, Row> rows;
    for (const auto& x : *activity) {
        Row& r = rows[{x.case_.service, x.case_.referent.empty() ? "-" : x.case_.referent}];
        ++r.cases;
        const bool open = x.case_.status == cases::CaseStatus::open;
        r.open += open ? 1 : 0;
        r.overdue += open && std::chrono::sys_days(x.case_.due) < std::chrono::sys_days(today);
        r.handed_over += x.handovers > 0 ? 1 : 0;
        if (x.first_reply) {
            ++r.answered;
            r.response_hours.push_back(
                cases::working_hours_between(x.case_.opened, *x.first_reply, holidays));
        }
    }
    if (a.has("--json")) {
        std::vector<std::string> items;
        for (const auto& [key, r] : rows) {
            JsonObject o;
            o.text("service", key.first)
                .text("referent", key.second)
                .number("cases", static_cast<std::int64_t>(r.cases))
                .number("open", static_cast<std::int64_t>(r.open))
                .number("overdue", static_cast<std::int64_t>(r.overdue))
                .number("answered", static_cast<std::int64_t>(r.answered))
                .number("handed_over", static_cast<std::int64_t>(r.handed_over));
            if (auto m = median(r.response_hours))
                o.raw("median_first_response_hours", hours_text(m));
            else
                o.null("median_first_response_hours");
            items.push_back(o.str());
        }
        out << JsonObject().text("since", day_text(*since)).raw("rows", json_array(items)).str()
            << '\n';
        return 0;
    }
    out << "since " << day_text(*since) << "\n";
    Table t(
        {"SERVICE", "REFERENT", "CASES", "OPEN", "OVERDUE", "ANSWERED", "MEDIAN H", "HANDED OVER"});
    for (const auto& [key, r] : rows)
        t.row({key.first, key.second, std::to_string(r.cases), std::to_string(r.open),
               std::to_string(r.overdue), std::to_string(r.answered),
               hours_text(median(r.response_hours)), std::to_string(r.handed_over)});
    t.print(out);
    return 0;
}

}  // namespace referent::ops
