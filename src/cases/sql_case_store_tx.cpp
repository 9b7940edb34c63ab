// One transaction's queries: see sql_case_store_tx.hpp.
#include "cases/sql_case_store_tx.hpp"

#include <charconv>
#include <cstdio>

namespace referent::cases {

namespace {

constexpr std::string_view case_columns =
    "SELECT c.id, c.number, c.service, c.citizen_id, z.address, z.name, c.referent, c.status, "
    "c.opened_at, c.due_on, c.closed_at, c.predecessor_id FROM cases c JOIN citizens z ON "
    "z.id = c.citizen_id ";

Case case_of(const sql::Row& r) {
    Case c;
    c.id = sql::as_int(r[0]);
    c.number = sql::as_text(r[1]);
    c.service = sql::as_text(r[2]);
    c.citizen = {sql::as_int(r[3]), sql::as_text(r[4]), sql::as_text(r[5])};
    c.referent = sql::as_text(r[6]);
    c.status = sql::as_text(r[7]) == "closed" ? CaseStatus::closed : CaseStatus::open;
    c.opened = from_seconds(sql::as_int(r[8]));
    c.due = parse_day(sql::as_text(r[9]));
    if (r[10]) c.closed = from_seconds(sql::as_int(r[10]));
    if (r[11]) c.predecessor = sql::as_int(r[11]);
    return c;
}

}  // namespace

void fail_permanent(std::string message) {
    throw Failure{util::Error::permanent(std::move(message))};
}

std::string lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

std::int64_t to_seconds(Instant t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

Instant from_seconds(std::int64_t s) {
    return Instant(std::chrono::seconds(s));
}

std::string day_text(Day d) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(d.year()),
                  static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
    return buf;
}

Day parse_day(std::string_view s) {
    int y = 0;
    unsigned m = 0, d = 0;
    if (s.size() == 10) {
        std::from_chars(s.data(), s.data() + 4, y);
        std::from_chars(s.data() + 5, s.data() + 7, m);
        std::from_chars(s.data() + 8, s.data() + 10, d);
    }
    return Day{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}};
}

SqlCaseStore::Tx::Tx(sql::Db& db, const config::Config& c, Instant t, Holidays h)
    : config(c), now(t), now_s(to_seconds(t)), today(local_date(t)), holidays(h), db_(db) {}

sql::Rows SqlCaseStore::Tx::q(std::string_view sql, const std::vector<sql::Value>& params) {
    util::Result<sql::Rows> r = db_.query(sql, params);
    if (!r) throw Failure{r.error()};
    return std::move(r).value();
}

std::optional<sql::Row> SqlCaseStore::Tx::one(std::string_view sql,
                                              const std::vector<sql::Value>& params) {
    sql::Rows rows = q(sql, params);
    if (rows.empty()) return std::nullopt;
    return std::move(rows.front());
}

std::int64_t SqlCaseStore::Tx::insert(std::string_view sql, const std::vector<sql::Value>& params) {
    std::optional<sql::Row> r = one(sql, params);
    if (!r || r->empty()) fail_permanent("insert returned no id");
    return sql::as_int((*r)[0]);
}

std::optional<Case> SqlCaseStore::Tx::case_where(std::string_view condition,
                                                 const std::vector<sql::Value>& params) {
    std::string sql(case_columns);
    sql.append(condition);
    std::optional<sql::Row> r = one(sql, params);
    if (!r) return std::nullopt;
    return case_of(*r);
}

Case SqlCaseStore::Tx::case_or_fail(const std::string& number) {
    std::optional<Case> c = case_where("WHERE c.number = $1", {number});
    if (!c) fail_permanent("no case " + number);
    return *c;
}

std::vector<AbsencePeriod> SqlCaseStore::Tx::all_absences() {
    std::vector<AbsencePeriod> out = config_absences(config);
    for (const sql::Row& r : q("SELECT agent, from_on, to_on, delegate FROM absences ORDER BY id"))
        out.push_back({sql::as_text(r[0]), parse_day(sql::as_text(r[1])),
                       parse_day(sql::as_text(r[2])), sql::as_text(r[3])});
    return out;
}

void SqlCaseStore::Tx::event(std::optional<std::int64_t> case_id, std::string_view kind,
                             const std::string& detail) {
    sql::Value id = case_id ? sql::Value{*case_id} : sql::Value{sql::Null{}};
    q("INSERT INTO events (case_id, at, kind, detail) VALUES ($1, $2, $3, $4)",
      {id, now_s, std::string(kind), detail});
}

const config::Service& SqlCaseStore::Tx::service(const std::string& id) const {
    const config::Service* s = config.find_service(id);
    if (!s) fail_permanent("unknown service " + id);
    return *s;
}

Day SqlCaseStore::Tx::due_from_today(const config::Service& s) const {
    return add_working_days(today, s.response_days, holidays);
}

std::vector<Case> cases_of(const sql::Rows& rows) {
    std::vector<Case> out;
    out.reserve(rows.size());
    for (const sql::Row& r : rows) out.push_back(case_of(r));
    return out;
}

std::string_view case_select() {
    return case_columns;
}

}  // namespace referent::cases
