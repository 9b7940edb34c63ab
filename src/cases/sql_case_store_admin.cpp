// CaseStore on SQL, the administrative use cases (referentctl): handover, closing, absences,
// and the reads. The mail path is in sql_case_store.cpp.
#include <map>

#include "cases/sql_case_store.hpp"
#include "cases/sql_case_store_tx.hpp"
#include "util/cat.hpp"

namespace referent::cases {

namespace {

const config::Agent& agent_or_fail(const SqlCaseStore::Tx& tx, const std::string& id) {
    const config::Agent* a = tx.config.find_agent(id);
    if (!a) fail_permanent("unknown agent " + id);
    return *a;
}

std::vector<MessageRecord> messages_of(SqlCaseStore::Tx& tx, std::int64_t case_id) {
    std::vector<MessageRecord> out;
    for (const sql::Row& r :
         tx.q("SELECT id, direction, kind, spool_id, message_id, sender, subject, at, "
              "raw IS NOT NULL FROM messages WHERE case_id = $1 ORDER BY id",
              {case_id})) {
        MessageRecord m;
        m.id = sql::as_int(r[0]);
        m.case_id = case_id;
        m.direction = sql::as_text(r[1]) == "out" ? Direction::out : Direction::in;
        m.kind = sql::as_text(r[2]);
        m.spool_id = sql::as_text(r[3]);
        m.message_id = sql::as_text(r[4]);
        m.sender = sql::as_text(r[5]);
        m.subject = sql::as_text(r[6]);
        m.at = from_seconds(sql::as_int(r[7]));
        m.has_raw = sql::as_text(r[8]) == "1" || sql::as_text(r[8]) == "t";
        out.push_back(std::move(m));
    }
    return out;
}

}  // namespace

util::Result<Handover> SqlCaseStore::reassign(const std::string& number, const std::string& agent,
                                              const std::string& reason) {
    return transaction<Handover>([&](Tx& tx) {
        agent_or_fail(tx, agent);
        if (reason.empty()) fail_permanent("a handover needs a reason");
        Handover h;
        Case c = tx.case_or_fail(number);
        if (c.referent == agent) fail_permanent(agent + " is already the referent of " + number);
        h.previous = c.referent;
        tx.q("UPDATE cases SET referent = $1 WHERE id = $2", {agent, c.id});
        tx.q("UPDATE referent_history SET to_at = $1 WHERE case_id = $2 AND to_at IS NULL",
             {tx.now_s, c.id});
        tx.q(
            "INSERT INTO referent_history (case_id, agent, from_at, reason) VALUES ($1, $2, $3, "
            "$4)",
            {c.id, agent, tx.now_s, reason});
        tx.event(c.id, "reassigned",
                 (h.previous.empty() ? std::string("fallback mailbox") : h.previous) + " -> " +
                     agent + ": " + reason);
        h.case_ = tx.case_or_fail(number);
        h.history = messages_of(tx, c.id);
        return h;
    });
}

util::Result<Case> SqlCaseStore::close(const std::string& number) {
    return transaction<Case>([&](Tx& tx) {
        Case c = tx.case_or_fail(number);
        if (c.status == CaseStatus::closed) fail_permanent(number + " is already closed");
        tx.q("UPDATE cases SET status = 'closed', closed_at = $1 WHERE id = $2", {tx.now_s, c.id});
        tx.event(c.id, "closed", "closed by an operator");
        return tx.case_or_fail(number);
    });
}

util::Result<Case> SqlCaseStore::reopen(const std::string& number) {
    return transaction<Case>([&](Tx& tx) {
        Case c = tx.case_or_fail(number);
        if (c.status == CaseStatus::open) fail_permanent(number + " is open");
        tx.q("UPDATE cases SET status = 'open', closed_at = NULL, due_on = $1 WHERE id = $2",
             {day_text(tx.due_from_today(tx.service(c.service))), c.id});
        tx.event(c.id, "reopened", "reopened by an operator");
        return tx.case_or_fail(number);
    });
}

util::Result<StoredAbsence> SqlCaseStore::add_absence(const AbsencePeriod& a) {
    return transaction<StoredAbsence>([&](Tx& tx) {
        agent_or_fail(tx, a.agent);
        if (!a.delegate.empty()) agent_or_fail(tx, a.delegate);
        if (a.delegate == a.agent) fail_permanent("an agent cannot be its own delegate");
        if (!a.from.ok() || !a.to.ok() || a.to < a.from)
            fail_permanent("an absence needs valid dates, from <= to");
        StoredAbsence s{0, a.agent, a.from, a.to, a.delegate, false};
        s.id = tx.insert(
            "INSERT INTO absences (agent, from_on, to_on, delegate, created_at) VALUES ($1, $2, "
            "$3, $4, $5) RETURNING id",
            {a.agent, day_text(a.from), day_text(a.to), a.delegate, tx.now_s});
        tx.event(
            std::nullopt, "absence",
            a.agent + " away " + day_text(a.from) + ".." + day_text(a.to) +
                (a.delegate.empty() ? std::string(", no delegate") : ", delegate " + a.delegate));
        return s;
    });
}

util::Result<std::size_t> SqlCaseStore::end_absence(const std::string& agent) {
    return transaction<std::size_t>([&](Tx& tx) {
        agent_or_fail(tx, agent);
        const std::string today = day_text(tx.today);
        const std::string yesterday =
            day_text(std::chrono::sys_days(tx.today) - std::chrono::days(1));
        std::size_t n = tx.q("DELETE FROM absences WHERE agent = $1 AND from_on >= $2 RETURNING id",
                             {agent, today})
                            .size();
        n += tx.q("UPDATE absences SET to_on = $1 WHERE agent = $2 AND from_on < $3 AND to_on >= "
                  "$3 RETURNING id",
                  {yesterday, agent, today})
                 .size();
        tx.event(std::nullopt, "absence_ended",
                 agent + ": " + std::to_string(n) + " stored absence(s) ended");
        return n;
    });
}

util::Result<std::vector<StoredAbsence>> SqlCaseStore::absences() {
    return transaction<std::vector<StoredAbsence>>([&](Tx& tx) {
        std::vector<StoredAbsence> out;
        for (const AbsencePeriod& p : config_absences(tx.config))
            out.push_back({0, p.agent, p.from, p.to, p.delegate, true});
        for (const sql::Row& r :
             tx.q("SELECT id, agent, from_on, to_on, delegate FROM absences ORDER BY id"))
            out.push_back({sql::as_int(r[0]), sql::as_text(r[1]), parse_day(sql::as_text(r[2])),
                           parse_day(sql::as_text(r[3])), sql::as_text(r[4]), false});
        return out;
    });
}

util::Result<std::optional<Case>> SqlCaseStore::find_case(const std::string& number) {
    return transaction<std::optional<Case>>(
        [&](Tx& tx) { return tx.case_where("WHERE c.number = $1", {number}); });
}

util::Result<std::optional<Case>> SqlCaseStore::case_by_id(std::int64_t id) {
    return transaction<std::optional<Case>>(
        [&](Tx& tx) { return tx.case_where("WHERE c.id = $1", {id}); });
}

util::Result<std::vector<Case>> SqlCaseStore::list_cases(const CaseFilter& f) {
    return transaction<std::vector<Case>>([&](Tx& tx) {
        std::string sql(case_select());
        std::vector<sql::Value> params;
        auto where = [&](std::string cond, sql::Value v) {
            params.push_back(std::move(v));
            const std::string n = "$" + std::to_string(params.size());
            for (std::size_t p; (p = cond.find('?')) != std::string::npos;) cond.replace(p, 1, n);
            sql += params.size() == 1 ? "WHERE " : " AND ";
            sql += cond;
        };
        if (f.service) where("c.service = ?", *f.service);
        if (f.agent) where("c.referent = ?", *f.agent);
        if (f.status) where("c.status = ?", std::string(to_string(*f.status)));
        if (f.citizen) where("z.address_key = ?", lower(*f.citizen));
        if (f.overdue) {
            where("c.status = ?", std::string("open"));
            where("c.due_on < ?", day_text(tx.today));
        }
        sql += " ORDER BY c.id LIMIT " + std::to_string(f.limit);
        return cases_of(tx.q(sql, params));
    });
}

util::Result<CaseFile> SqlCaseStore::case_file(const std::string& number) {
    return transaction<CaseFile>([&](Tx& tx) {
        CaseFile file;
        file.case_ = tx.case_or_fail(number);
        const std::int64_t id = file.case_.id;
        file.messages = messages_of(tx, id);
        for (const sql::Row& r : tx.q("SELECT agent, from_at, to_at, reason FROM referent_history "
                                      "WHERE case_id = $1 ORDER BY id",
                                      {id})) {
            ReferentPeriod p{sql::as_text(r[0]), from_seconds(sql::as_int(r[1])), std::nullopt,
                             sql::as_text(r[3])};
            if (r[2]) p.to = from_seconds(sql::as_int(r[2]));
            file.referents.push_back(std::move(p));
        }
        for (const sql::Row& r :
             tx.q("SELECT id, at, kind, detail FROM events WHERE case_id = $1 ORDER BY id", {id}))
            file.events.push_back({sql::as_int(r[0]), id, from_seconds(sql::as_int(r[1])),
                                   sql::as_text(r[2]), sql::as_text(r[3])});
        return file;
    });
}

util::Result<std::optional<std::string>> SqlCaseStore::message_raw(std::int64_t message) {
    return transaction<std::optional<std::string>>([&](Tx& tx) -> std::optional<std::string> {
        auto r = tx.one("SELECT raw FROM messages WHERE id = $1", {message});
        if (!r || !(*r)[0]) return std::nullopt;
        return *(*r)[0];
    });
}

util::Result<std::vector<std::string>> SqlCaseStore::citizen_thread(std::int64_t case_id,
                                                                    std::size_t max) {
    return transaction<std::vector<std::string>>([&](Tx& tx) {
        std::vector<std::string> ids;
        for (const sql::Row& r : tx.q("SELECT message_id FROM messages WHERE case_id = $1 AND "
                                      "message_id <> '' AND (direction = 'in' OR kind = "
                                      "'reply') ORDER BY id DESC LIMIT $2",
                                      {case_id, static_cast<std::int64_t>(max)}))
            ids.push_back(sql::as_text(r[0]));
        return std::vector<std::string>(ids.rbegin(), ids.rend());
    });
}

util::Result<std::uint32_t> SqlCaseStore::notices_sent(const std::string& recipient) {
    return transaction<std::uint32_t>([&](Tx& tx) {
        auto r = tx.one("SELECT COUNT(*) FROM notice_log WHERE recipient_key = $1 AND at > $2",
                        {lower(recipient), tx.now_s - notice_window_s});
        return static_cast<std::uint32_t>(r ? sql::as_int((*r)[0]) : 0);
    });
}

util::Result<std::vector<Case>> SqlCaseStore::awaiting_answer(Day until, std::size_t limit) {
    return transaction<std::vector<Case>>([&](Tx& tx) {
        std::string sql(case_select());
        sql +=
            "WHERE c.status = 'open' AND c.due_on <= $1 AND NOT EXISTS (SELECT 1 FROM "
            "messages m WHERE m.case_id = c.id AND m.direction = 'out' AND m.kind = 'reply') "
            "ORDER BY c.due_on, c.id LIMIT $2";
        return cases_of(tx.q(sql, {day_text(until), static_cast<std::int64_t>(limit)}));
    });
}

util::Result<CaseStore::Counts> SqlCaseStore::counts() {
    return transaction<Counts>([&](Tx& tx) {
        Counts c;
        if (auto r = tx.one("SELECT COUNT(*) FROM cases WHERE status = 'open'"))
            c.open = static_cast<std::uint64_t>(sql::as_int((*r)[0]));
        if (auto r = tx.one("SELECT COUNT(*) FROM cases WHERE status = 'open' AND due_on < $1",
                            {day_text(tx.today)}))
            c.overdue = static_cast<std::uint64_t>(sql::as_int((*r)[0]));
        return c;
    });
}

util::Result<CaseStore::PurgeReport> SqlCaseStore::purge(bool dry_run) {
    return transaction<PurgeReport>([&](Tx& tx) {
        PurgeReport r;
        // The cases of one service past its retention, with something personal left.
        constexpr std::string_view due =
            "SELECT c.id FROM cases c WHERE c.service = $1 AND c.status = 'closed' AND "
            "c.closed_at < $2 AND EXISTS (SELECT 1 FROM messages m WHERE m.case_id = c.id AND "
            "(m.raw IS NOT NULL OR m.subject <> '' OR (m.direction = 'in' AND m.sender <> '')))";
        for (const config::Service& s : tx.config.services) {
            const std::vector<sql::Value> p{
                s.id, tx.now_s - static_cast<std::int64_t>(s.retention_days) * 86400};
            const std::string in = util::cat("(", due, ")");
            r.cases += static_cast<std::uint64_t>(
                sql::as_int(tx.q(util::cat("SELECT COUNT(*) FROM ", in, " x"), p)[0][0]));
            r.messages += static_cast<std::uint64_t>(sql::as_int(
                tx.q(util::cat("SELECT COUNT(*) FROM messages WHERE case_id IN ", in), p)[0][0]));
            if (dry_run) continue;
            tx.q(util::cat("UPDATE deliveries SET recipient = 'purged', last_error = '' WHERE "
                           "message_id IN (SELECT id FROM messages WHERE case_id IN ",
                           in, ")"),
                 p);
            tx.q(util::cat("DELETE FROM message_references WHERE message_id IN (SELECT id "
                           "FROM messages WHERE case_id IN ",
                           in, ")"),
                 p);
            tx.q(util::cat("UPDATE messages SET raw = NULL, subject = '', sender = CASE WHEN "
                           "direction = 'in' THEN '' ELSE sender END WHERE case_id IN ",
                           in),
                 p);
        }
        // Citizens with nothing left but purged, closed cases.
        constexpr std::string_view gone =
            "FROM citizens z WHERE z.address NOT LIKE '%@purged.invalid' AND EXISTS (SELECT 1 "
            "FROM cases c WHERE c.citizen_id = z.id) AND NOT EXISTS (SELECT 1 FROM cases c WHERE "
            "c.citizen_id = z.id AND (c.status = 'open' OR EXISTS (SELECT 1 FROM messages m "
            "WHERE m.case_id = c.id AND (m.raw IS NOT NULL OR m.subject <> '' OR "
            "(m.direction = 'in' AND m.sender <> '')))))";
        if (dry_run) {
            // A real run pseudonymises the citizens whose every case is closed and past its
            // service's retention: the message purge above cleans exactly those cases.
            for (const sql::Row& row : tx.q("SELECT z.id FROM citizens z WHERE z.address NOT "
                                            "LIKE '%@purged.invalid'")) {
                const std::int64_t id = sql::as_int(row[0]);
                bool all = true, any = false;
                for (const sql::Row& c :
                     tx.q("SELECT service, status, closed_at FROM cases WHERE citizen_id = $1",
                          {id})) {
                    any = true;
                    const config::Service* s = tx.config.find_service(sql::as_text(c[0]));
                    const std::int64_t keep =
                        static_cast<std::int64_t>(s ? s->retention_days : 36500) * 86400;
                    all = all && sql::as_text(c[1]) == "closed" &&
                          sql::as_int(c[2]) < tx.now_s - keep;
                }
                r.citizens += any && all ? 1 : 0;
            }
            return r;
        }
        for (const sql::Row& row : tx.q(util::cat("SELECT z.id ", gone))) {
            const std::int64_t id = sql::as_int(row[0]);
            const std::string pseudonym =
                util::cat("citizen-", std::to_string(id), "@purged.invalid");
            tx.q("UPDATE citizens SET address = $1, address_key = $1, name = '' WHERE id = $2",
                 {pseudonym, id});
            tx.event(std::nullopt, "purged",
                     util::cat("citizen ", std::to_string(id), " pseudonymised"));
            ++r.citizens;
        }
        // The notices' rate-limit log only needs its last day.
        tx.q("DELETE FROM notice_log WHERE at <= $1", {tx.now_s - notice_window_s});
        if (r.cases)
            tx.event(std::nullopt, "purged",
                     util::cat(std::to_string(r.cases), " cases, ", std::to_string(r.messages),
                               " messages: bodies and subjects deleted"));
        return r;
    });
}

util::Result<std::vector<CaseStore::Activity>> SqlCaseStore::activity(Instant since) {
    return transaction<std::vector<Activity>>([&](Tx& tx) {
        const std::int64_t from = to_seconds(since);
        std::vector<Activity> out;
        std::map<std::int64_t, std::size_t> at;  // case id → index in out
        for (Case& c : cases_of(tx.q(
                 std::string(case_select()) + "WHERE c.opened_at >= $1 ORDER BY c.id", {from}))) {
            at[c.id] = out.size();
            out.push_back({std::move(c), std::nullopt, 0});
        }
        for (const sql::Row& r :
             tx.q("SELECT m.case_id, MIN(m.at) FROM messages m JOIN cases c ON c.id = m.case_id "
                  "WHERE c.opened_at >= $1 AND m.direction = 'out' AND m.kind = 'reply' GROUP BY "
                  "m.case_id",
                  {from}))
            if (auto it = at.find(sql::as_int(r[0])); it != at.end())
                out[it->second].first_reply = from_seconds(sql::as_int(r[1]));
        for (const sql::Row& r :
             tx.q("SELECT h.case_id, COUNT(*) FROM referent_history h JOIN cases c ON c.id = "
                  "h.case_id WHERE c.opened_at >= $1 GROUP BY h.case_id",
                  {from}))
            if (auto it = at.find(sql::as_int(r[0])); it != at.end())
                out[it->second].handovers =
                    static_cast<std::uint32_t>(std::max<std::int64_t>(0, sql::as_int(r[1]) - 1));
        return out;
    });
}

util::Status SqlCaseStore::record_event(std::optional<std::int64_t> case_id,
                                        const std::string& kind, const std::string& detail) {
    util::Result<bool> r = transaction<bool>([&](Tx& tx) {
        tx.event(case_id, kind, detail);
        return true;
    });
    if (!r) return r.error();
    return {};
}

const char* to_string(CaseStatus s) {
    return s == CaseStatus::open ? "open" : "closed";
}

const char* to_string(Direction d) {
    return d == Direction::in ? "in" : "out";
}

const char* to_string(DeliveryState s) {
    switch (s) {
        case DeliveryState::queued:
            return "queued";
        case DeliveryState::delivered:
            return "delivered";
        case DeliveryState::failed:
            return "failed";
    }
    return "?";
}

const char* to_string(AgentVerdict v) {
    switch (v) {
        case AgentVerdict::referent:
            return "referent";
        case AgentVerdict::delegate:
            return "delegate";
        case AgentVerdict::former_referent:
            return "former_referent";
        case AgentVerdict::not_on_case:
            return "not_on_case";
        case AgentVerdict::unknown_case:
            return "unknown_case";
    }
    return "?";
}

}  // namespace referent::cases
