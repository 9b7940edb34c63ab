// referentctl cases, show, close, reopen, absence: see case_commands.hpp.
#include "ops/case_commands.hpp"

#include <charconv>

#include "ops/case_json.hpp"
#include "ops/output.hpp"
#include "ops/session.hpp"

namespace referent::ops {

namespace {

constexpr const char* cases_usage =
    "usage: referentctl cases [--service S] [--agent A] [--status open|closed] [--overdue]\n"
    "                         [--limit N] [--json]\n"
    "  list cases, oldest first (default limit 1000); --overdue: open and past their due date\n";
constexpr const char* show_usage =
    "usage: referentctl show CASE [--json]\n"
    "  the case, its messages in order, its referents over time and its events\n";
constexpr const char* close_usage =
    "usage: referentctl close CASE [--json]\n  close an open case\n";
constexpr const char* reopen_usage =
    "usage: referentctl reopen CASE [--json]\n  reopen a closed case; its due date counts from "
    "today\n";
constexpr const char* absence_usage =
    "usage: referentctl absence add AGENT --from YYYY-MM-DD --to YYYY-MM-DD [--delegate AGENT]\n"
    "       referentctl absence list [--json]\n"
    "       referentctl absence end AGENT\n"
    "  while an agent is away its cases' mail goes to the delegate (or the service's fallback),\n"
    "  and each citizen writing is told once who covers\n";

int usage_error(const char* usage, const std::string& why, std::ostream& err) {
    err << "referentctl: " << why << '\n' << usage;
    return 2;
}

}  // namespace

int cases_command(const std::string& config_path, const std::vector<std::string>& args,
                  std::ostream& out, std::ostream& err) {
    Args a =
        Args::parse(args, {"--overdue", "--json"}, {"--service", "--agent", "--status", "--limit"});
    if (a.has("--help")) return out << cases_usage, 0;
    if (!a.error.empty()) return usage_error(cases_usage, "cases: " + a.error, err);
    if (!a.positional.empty()) return usage_error(cases_usage, "cases: no CASE here", err);
    cases::CaseFilter f;
    f.service = a.option("--service");
    f.agent = a.option("--agent");
    f.overdue = a.has("--overdue");
    if (auto s = a.option("--status")) {
        if (*s != "open" && *s != "closed")
            return usage_error(cases_usage, "cases: --status is open or closed", err);
        f.status = *s == "open" ? cases::CaseStatus::open : cases::CaseStatus::closed;
    }
    if (auto l = a.option("--limit")) {
        std::size_t n = 0;
        auto [p, ec] = std::from_chars(l->data(), l->data() + l->size(), n);
        if (ec != std::errc() || p != l->data() + l->size() || n == 0 || n > 1'000'000)
            return usage_error(cases_usage, "cases: --limit is 1..1000000", err);
        f.limit = n;
    }
    int rc = 0;
    auto s = open_store(config_path, "cases", err, rc);
    if (!s) return rc;
    if (f.service && !s->config->find_service(*f.service))
        return usage_error(cases_usage, "cases: no service " + *f.service, err);
    if (f.agent && !s->config->find_agent(*f.agent))
        return usage_error(cases_usage, "cases: no agent " + *f.agent, err);
    auto listed = s->store->list_cases(f);
    if (!listed) return store_error(listed.error(), "cases", err);
    if (a.has("--json")) {
        std::vector<std::string> items;
        for (const cases::Case& c : *listed) items.push_back(case_json(c));
        out << json_array(items) << '\n';
        return 0;
    }
    Table t({"CASE", "SERVICE", "REFERENT", "STATUS", "OPENED", "DUE", "CITIZEN"});
    for (const cases::Case& c : *listed)
        t.row({c.number, c.service, c.referent.empty() ? "-" : c.referent,
               cases::to_string(c.status), instant_text(c.opened), day_text(c.due),
               c.citizen.address});
    t.print(out);
    return 0;
}

int show_command(const std::string& config_path, const std::vector<std::string>& args,
                 std::ostream& out, std::ostream& err) {
    Args a = Args::parse(args, {"--json"}, {});
    if (a.has("--help")) return out << show_usage, 0;
    if (!a.error.empty()) return usage_error(show_usage, "show: " + a.error, err);
    if (a.positional.size() != 1) return usage_error(show_usage, "show: want one CASE", err);
    int rc = 0;
    auto s = open_store(config_path, "show", err, rc);
    if (!s) return rc;
    auto file = s->store->case_file(a.positional[0]);
    if (!file) return store_error(file.error(), "show", err);
    if (a.has("--json")) {
        std::vector<std::string> messages;
        for (const auto& m : file->messages)
            messages.push_back(JsonObject()
                                   .number("id", m.id)
                                   .text("direction", cases::to_string(m.direction))
                                   .text("kind", m.kind)
                                   .text("at", instant_text(m.at))
                                   .text("message_id", m.message_id)
                                   .text("sender", m.sender)
                                   .text("subject", m.subject)
                                   .boolean("body_kept", m.has_raw)
                                   .str());
        out << JsonObject()
                   .raw("case", case_json(file->case_))
                   .raw("messages", json_array(messages))
                   .raw("referents", referents_json(file->referents))
                   .raw("events", events_json(file->events))
                   .str()
            << '\n';
        return 0;
    }
    const cases::Case& c = file->case_;
    out << c.number << "  " << c.service << "  " << cases::to_string(c.status) << "\n"
        << "citizen   " << c.citizen.name << " <" << c.citizen.address << ">\n"
        << "referent  " << (c.referent.empty() ? "- (fallback mailbox)" : c.referent) << "\n"
        << "opened    " << instant_text(c.opened) << "   due " << day_text(c.due)
        << (c.closed ? "   closed " + instant_text(*c.closed) : std::string()) << "\n\nmessages\n";
    Table m({"AT", "DIR", "KIND", "FROM", "SUBJECT"});
    for (const auto& r : file->messages)
        m.row({instant_text(r.at), cases::to_string(r.direction), r.kind, r.sender, r.subject});
    m.print(out);
    out << "\nreferents\n";
    Table r({"AGENT", "FROM", "TO", "REASON"});
    for (const auto& p : file->referents)
        r.row({p.agent, instant_text(p.from), p.to ? instant_text(*p.to) : "-", p.reason});
    r.print(out);
    out << "\nevents\n";
    Table e({"AT", "KIND", "DETAIL"});
    for (const auto& v : file->events) e.row({instant_text(v.at), v.kind, v.detail});
    e.print(out);
    return 0;
}

int status_command(const std::string& verb, const std::string& config_path,
                   const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    const char* usage = verb == "close" ? close_usage : reopen_usage;
    Args a = Args::parse(args, {"--json"}, {});
    if (a.has("--help")) return out << usage, 0;
    if (!a.error.empty()) return usage_error(usage, verb + ": " + a.error, err);
    if (a.positional.size() != 1) return usage_error(usage, verb + ": want one CASE", err);
    int rc = 0;
    auto s = open_store(config_path, verb.c_str(), err, rc);
    if (!s) return rc;
    auto done =
        verb == "close" ? s->store->close(a.positional[0]) : s->store->reopen(a.positional[0]);
    if (!done) return store_error(done.error(), verb.c_str(), err);
    if (a.has("--json")) return out << case_json(*done) << '\n', 0;
    out << done->number << ": " << cases::to_string(done->status) << ", due " << day_text(done->due)
        << '\n';
    return 0;
}

int absence_command(const std::string& config_path, const std::vector<std::string>& args,
                    std::ostream& out, std::ostream& err) {
    Args a = Args::parse(args, {"--json"}, {"--from", "--to", "--delegate"});
    if (a.has("--help")) return out << absence_usage, 0;
    if (!a.error.empty()) return usage_error(absence_usage, "absence: " + a.error, err);
    const std::string sub = a.positional.empty() ? "" : a.positional[0];
    if (sub == "add") {
        auto from = parse_day(a.option("--from").value_or(""));
        auto to = parse_day(a.option("--to").value_or(""));
        if (a.positional.size() != 2 || !from || !to)
            return usage_error(absence_usage,
                               "absence add: want AGENT --from YYYY-MM-DD --to YYYY-MM-DD", err);
        int rc = 0;
        auto s = open_store(config_path, "absence", err, rc);
        if (!s) return rc;
        auto added = s->store->add_absence(
            {a.positional[1], *from, *to, a.option("--delegate").value_or("")});
        if (!added) return store_error(added.error(), "absence add", err);
        if (a.has("--json"))
            return out << JsonObject()
                              .text("agent", added->agent)
                              .text("from", day_text(added->from))
                              .text("to", day_text(added->to))
                              .text("delegate", added->delegate)
                              .str()
                       << '\n',
                   0;
        out << added->agent << ": away " << day_text(added->from) << ".." << day_text(added->to)
            << (added->delegate.empty() ? ", no delegate" : ", delegate " + added->delegate)
            << '\n';
        return 0;
    }
    if (sub == "end") {
        if (a.positional.size() != 2)
            return usage_error(absence_usage, "absence end: want AGENT", err);
        int rc = 0;
        auto s = open_store(config_path, "absence", err, rc);
        if (!s) return rc;
        auto n = s->store->end_absence(a.positional[1]);
        if (!n) return store_error(n.error(), "absence end", err);
        if (a.has("--json"))
            return out << JsonObject()
                              .text("agent", a.positional[1])
                              .number("ended", static_cast<std::int64_t>(*n))
                              .str()
                       << '\n',
                   0;
        out << a.positional[1] << ": " << *n << " stored absence(s) ended\n";
        return 0;
    }
    if (sub != "list" || a.positional.size() != 1)
        return usage_error(absence_usage, "absence: want add, list or end", err);
    int rc = 0;
    auto s = open_store(config_path, "absence", err, rc);
    if (!s) return rc;
    auto all = s->store->absences();
    if (!all) return store_error(all.error(), "absence list", err);
    if (a.has("--json")) {
        std::vector<std::string> items;
        for (const auto& x : *all)
            items.push_back(JsonObject()
                                .text("agent", x.agent)
                                .text("from", day_text(x.from))
                                .text("to", day_text(x.to))
                                .text("delegate", x.delegate)
                                .text("source", x.from_config ? "config" : "stored")
                                .str());
        out << json_array(items) << '\n';
        return 0;
    }
    Table t({"AGENT", "FROM", "TO", "DELEGATE", "SOURCE"});
    for (const auto& x : *all)
        t.row({x.agent, day_text(x.from), day_text(x.to), x.delegate.empty() ? "-" : x.delegate,
               x.from_config ? "config" : "stored"});
    t.print(out);
    return 0;
}

}  // namespace referent::ops
