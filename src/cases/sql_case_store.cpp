// CaseStore on SQL, the mail path: opening, transactions, inbound and outbound records, agent
// checks. The administrative use cases are in sql_case_store_admin.cpp.
#include "cases/sql_case_store.hpp"

#include <algorithm>
#include <cstdio>

#include "cases/schema.hpp"
#include "cases/sql_case_store_tx.hpp"
#include "util/cat.hpp"

namespace referent::cases {

namespace {

// The first outcome of an inbound message, kept with it so a replay returns it unchanged.
std::string encode(const InboundOutcome& o) {
    std::string s = "rule=" + std::string(to_string(o.rule)) + "\n";
    s += std::string("created=") + (o.created ? "1" : "0") + "\n";
    s += std::string("reopened=") + (o.reopened ? "1" : "0") + "\n";
    s += std::string("flagged=") + (o.flagged ? "1" : "0") + "\n";
    s += std::string("tell_absence=") + (o.tell_absence ? "1" : "0") + "\n";
    if (o.recipient) s += "recipient=" + *o.recipient + "\n";
    s += "reason=" + o.reason + "\n";
    return s;
}

void decode(std::string_view s, InboundOutcome& o) {
    while (!s.empty()) {
        std::size_t nl = s.find('\n');
        std::string_view line = s.substr(0, nl);
        s = nl == std::string_view::npos ? std::string_view{} : s.substr(nl + 1);
        std::size_t eq = line.find('=');
        if (eq == std::string_view::npos) continue;
        std::string_view k = line.substr(0, eq), v = line.substr(eq + 1);
        if (k == "rule") {
            for (ThreadRule r : {ThreadRule::duplicate, ThreadRule::token, ThreadRule::reference,
                                 ThreadRule::subject_tag, ThreadRule::new_case})
                if (v == to_string(r)) o.rule = r;
        } else if (k == "created")
            o.created = v == "1";
        else if (k == "reopened")
            o.reopened = v == "1";
        else if (k == "flagged")
            o.flagged = v == "1";
        else if (k == "tell_absence")
            o.tell_absence = v == "1";
        else if (k == "recipient")
            o.recipient = std::string(v);
        else if (k == "reason")
            o.reason = std::string(v);
    }
}

std::string placeholders(std::size_t first, std::size_t n) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s += (i ? ", $" : "$") + std::to_string(first + i);
    return s;
}

// The columns a ThreadCandidate is read from (c: cases, z: citizens), first in a row.
constexpr std::string_view candidate_columns =
    "c.id, c.number, z.address, c.status, c.closed_at, c.service, z.id";

ThreadCandidate candidate(SqlCaseStore::Tx& tx, const sql::Row& r) {
    ThreadCandidate c;
    c.id = sql::as_int(r[0]);
    c.number = sql::as_text(r[1]);
    c.citizen_address = sql::as_text(r[2]);
    c.status = sql::as_text(r[3]) == "closed" ? CaseStatus::closed : CaseStatus::open;
    if (r[4]) c.closed = from_seconds(sql::as_int(r[4]));
    c.service = sql::as_text(r[5]);
    const config::Service* s = tx.config.find_service(c.service);
    c.reopen_days = s ? s->reopen_days : 0;
    c.citizen_id = sql::as_int(r[6]);
    return c;
}

std::vector<ThreadCandidate> candidates(SqlCaseStore::Tx& tx, std::string_view from_where,
                                        const std::vector<std::string>& keys) {
    std::vector<ThreadCandidate> out;
    if (keys.empty()) return out;
    std::string sql = util::cat("SELECT DISTINCT ", candidate_columns, " ", from_where, " IN (",
                                placeholders(1, keys.size()), ")");
    std::vector<sql::Value> params(keys.begin(), keys.end());
    for (const sql::Row& r : tx.q(sql, params)) out.push_back(candidate(tx, r));
    return out;
}

// The first inbound message in a case of `service` with this Message-ID from this sender, as
// the duplicate rule reads it (threading.hpp): one row, whoever reuses the Message-ID. The
// sender compares exactly here (a retry carries the very same From); threading compares again,
// case-insensitively, and the service again too.
std::vector<RecordedCopy> recorded_copies(SqlCaseStore::Tx& tx, const std::string& message_id,
                                          const ThreadKeys& keys) {
    std::vector<RecordedCopy> out;
    if (message_id.empty() || keys.sender.empty()) return out;
    const std::string sql = util::cat(
        "SELECT ", candidate_columns,
        ", m.sender FROM messages m JOIN cases c ON c.id = m.case_id JOIN citizens z ON z.id = "
        "c.citizen_id WHERE m.message_id = $1 AND m.direction = 'in' AND m.sender = $2 AND "
        "c.service = $3 ORDER BY m.id LIMIT 1");
    for (const sql::Row& r : tx.q(sql, {message_id, keys.sender, keys.service}))
        out.push_back(RecordedCopy{candidate(tx, r), sql::as_text(r[7])});
    return out;
}

// `message_id`: the message's own Message-ID ("" for none), which a follow-up recorded before
// it may name.
ThreadFacts thread_facts(SqlCaseStore::Tx& tx, const ThreadKeys& keys, std::size_t max_keys,
                         const std::string& message_id = "") {
    ThreadFacts f;
    if (keys.token_case) {
        std::vector<ThreadCandidate> c =
            candidates(tx, "FROM cases c JOIN citizens z ON z.id = c.citizen_id WHERE c.id",
                       {std::to_string(*keys.token_case)});
        if (!c.empty()) f.by_token = c.front();
    }
    auto bounded = [&](const std::vector<std::string>& v) {
        return std::vector<std::string>(
            v.begin(), v.begin() + static_cast<std::ptrdiff_t>(std::min(v.size(), max_keys)));
    };
    f.by_reference = candidates(tx,
                                "FROM messages m JOIN cases c ON c.id = m.case_id JOIN citizens "
                                "z ON z.id = c.citizen_id WHERE m.message_id",
                                bounded(keys.references));
    f.by_tag = candidates(tx, "FROM cases c JOIN citizens z ON z.id = c.citizen_id WHERE c.number",
                          bounded(keys.subject_tags));
    f.same_message = recorded_copies(tx, message_id, keys);
    if (!message_id.empty())
        f.referenced_by = candidates(tx,
                                     "FROM message_references x JOIN messages m ON m.id = "
                                     "x.message_id JOIN cases c ON c.id = m.case_id JOIN citizens "
                                     "z ON z.id = c.citizen_id WHERE x.reference",
                                     {message_id});
    return f;
}

// Two messages of one sender are decided one after the other, on any number of gateways: the
// second waits here for the first's transaction, then sees its case (or the references it
// recorded). A hash slot, so the lock table holds no address; two senders sharing a slot only
// wait for each other. SQLite holds the write lock for the whole transaction anyway.
void lock_sender(SqlCaseStore::Tx& tx, const std::string& sender) {
    std::uint64_t h = 14695981039346656037ull;  // FNV-1a of the lower-cased address
    for (char ch : lower(sender)) {
        h ^= static_cast<unsigned char>(ch);
        h *= 1099511628211ull;
    }
    constexpr std::uint64_t slots = 65536;
    tx.q(
        "INSERT INTO sender_locks (slot) VALUES ($1) ON CONFLICT (slot) DO UPDATE SET taken = "
        "sender_locks.taken + 1",
        {static_cast<std::int64_t>(h % slots)});
}

// One row per address, whoever writes first: an upsert, so two gateways opening cases for the
// same new citizen at once both get the one row instead of a unique-key failure.
std::int64_t citizen_id(SqlCaseStore::Tx& tx, const std::string& address, const std::string& name) {
    return tx.insert(
        "INSERT INTO citizens (address, address_key, name) VALUES ($1, $2, $3) ON CONFLICT "
        "(address_key) DO UPDATE SET name = CASE WHEN $3 = '' THEN citizens.name ELSE $3 END "
        "RETURNING id",
        {address, lower(address), name});
}

std::string next_number(SqlCaseStore::Tx& tx, const config::Service& s) {
    const int year = static_cast<int>(tx.today.year());
    std::int64_t n = tx.insert(
        "INSERT INTO case_sequences (service, year, last) VALUES ($1, $2, 1) ON CONFLICT "
        "(service, year) DO UPDATE SET last = case_sequences.last + 1 RETURNING last",
        {s.id, std::int64_t{year}});
    char buf[64];
    std::snprintf(buf, sizeof buf, "-%04d-%06lld", year, static_cast<long long>(n));
    return s.case_prefix + buf;
}

AssignmentDecision assign_new(SqlCaseStore::Tx& tx, const config::Service& s,
                              std::int64_t citizen) {
    AssignmentInput in;
    in.policy = s.assignment;
    in.today = tx.today;
    in.absences = tx.all_absences();
    for (const std::string& id : s.agents) {
        const config::Agent* a = tx.config.find_agent(id);
        if (!a) continue;
        auto n = tx.one("SELECT n FROM open_case_counts WHERE referent = $1", {id});
        in.candidates.push_back(
            {id, static_cast<std::uint32_t>(n ? sql::as_int((*n)[0]) : 0), a->max_open_cases});
    }
    if (auto r = tx.one("SELECT referent FROM cases WHERE citizen_id = $1 AND service = $2 AND "
                        "referent <> '' ORDER BY opened_at DESC, id DESC LIMIT 1",
                        {citizen, s.id}))
        in.previous = sql::as_text((*r)[0]);
    if (auto r = tx.one("SELECT last_assigned FROM service_state WHERE service = $1", {s.id}))
        in.last_assigned = sql::as_text((*r)[0]);
    return choose_referent(in);
}

Case open_case(SqlCaseStore::Tx& tx, const InboundRequest& r, const ThreadDecision& d) {
    const config::Service& s = tx.service(r.service);
    const std::int64_t citizen = citizen_id(tx, r.keys.sender, r.sender_name);
    // The number first: its row lock orders the service's new cases across gateways, so the
    // assignment below reads the loads and the round-robin state the previous one left.
    const std::string number = next_number(tx, s);
    const AssignmentDecision a = assign_new(tx, s, citizen);
    const std::string referent = a.agent.value_or("");
    sql::Value predecessor = d.predecessor ? sql::Value{*d.predecessor} : sql::Value{sql::Null{}};
    const std::int64_t id = tx.insert(
        "INSERT INTO cases (number, service, citizen_id, referent, status, opened_at, due_on, "
        "predecessor_id) VALUES ($1, $2, $3, $4, 'open', $5, $6, $7) RETURNING id",
        {number, s.id, citizen, referent, tx.now_s, day_text(tx.due_from_today(s)), predecessor});
    tx.q("INSERT INTO referent_history (case_id, agent, from_at, reason) VALUES ($1, $2, $3, $4)",
         {id, referent, tx.now_s, "assigned by " + a.rule});
    if (a.agent)
        tx.q(
            "INSERT INTO service_state (service, last_assigned) VALUES ($1, $2) ON CONFLICT "
            "(service) DO UPDATE SET last_assigned = $2",
            {s.id, referent});
    tx.event(id, "created", d.reason);
    tx.event(id, "assigned",
             a.rule + ": " + (a.agent ? referent : "fallback mailbox") + " (" + a.reason + ")");
    return *tx.case_where("WHERE c.id = $1", {id});
}

Case reopen_case(SqlCaseStore::Tx& tx, std::int64_t id) {
    Case c = *tx.case_where("WHERE c.id = $1", {id});
    const config::Service& s = tx.service(c.service);
    tx.q("UPDATE cases SET status = 'open', closed_at = NULL, due_on = $1 WHERE id = $2",
         {day_text(tx.due_from_today(s)), id});
    tx.event(id, "reopened", "a follow-up within " + std::to_string(s.reopen_days) + " days");
    return *tx.case_where("WHERE c.id = $1", {id});
}

// Who reads the case's mail today, and whether the citizen must hear of an absence.
void route(SqlCaseStore::Tx& tx, const Case& c, bool human, InboundOutcome& o) {
    if (c.referent.empty()) return;  // fallback mailbox
    Covering cov = covering(c.referent, tx.all_absences(), tx.today);
    o.recipient = cov.agent;
    o.absence = cov.absence;
    if (!cov.absence || !human) return;
    const std::string key =
        cov.absence->agent + "/" + day_text(cov.absence->from) + "/" + day_text(cov.absence->to);
    o.tell_absence = !tx.q("INSERT INTO absence_notices (case_id, absence_key) VALUES ($1, $2) "
                           "ON CONFLICT DO NOTHING RETURNING case_id",
                           {c.id, key})
                          .empty();
}

void case_context(SqlCaseStore::Tx& tx, InboundOutcome& o) {
    auto n = tx.one(
        "SELECT COUNT(*) FROM messages WHERE case_id = $1 AND direction = 'in' AND "
        "id < $2",
        {o.case_->id, o.message});
    o.earlier_messages = static_cast<std::uint32_t>(n ? sql::as_int((*n)[0]) : 0);
    for (const sql::Row& r : tx.q("SELECT message_id FROM messages WHERE case_id = $1 AND "
                                  "direction = 'out' AND kind = 'forward' AND id < $2 AND "
                                  "message_id <> '' ORDER BY id",
                                  {o.case_->id, o.message}))
        o.earlier_forwards.push_back(sql::as_text(r[0]));
}

// The Message-IDs an inbound message names (as many as threading reads), for the message
// recorded after it that they name.
void record_references(SqlCaseStore::Tx& tx, std::int64_t message, const InboundRequest& r,
                       std::size_t max_keys) {
    std::vector<std::string> done;
    for (const std::string& ref : r.keys.references) {
        if (done.size() >= max_keys) break;
        if (ref.empty() || ref == r.message_id ||
            std::find(done.begin(), done.end(), ref) != done.end())
            continue;
        tx.q("INSERT INTO message_references (message_id, reference) VALUES ($1, $2)",
             {message, ref});
        done.push_back(ref);
    }
}

std::optional<InboundOutcome> replayed(SqlCaseStore::Tx& tx, const InboundRequest& r) {
    auto row = tx.one(
        "SELECT id, case_id, decision, message_id, sender FROM messages WHERE "
        "direction = 'in' AND spool_id = $1",
        {r.spool_id});
    if (!row) return std::nullopt;
    // A replay is the same message again; another message under a used key is a bug upstream,
    // and answering with the first one's outcome would lose it.
    if (sql::as_text((*row)[3]) != r.message_id || sql::as_text((*row)[4]) != r.keys.sender)
        fail_permanent(util::cat("spool id ", r.spool_id, " already records another message"));
    InboundOutcome o;
    o.replay = true;
    o.message = sql::as_int((*row)[0]);
    decode(sql::as_text((*row)[2]), o);
    if ((*row)[1]) {
        o.case_ = tx.case_where("WHERE c.id = $1", {sql::as_int((*row)[1])});
        std::vector<AbsencePeriod> all = tx.all_absences();
        if (o.case_) o.absence = absence_on(all, o.case_->referent, tx.today);
        if (o.case_) case_context(tx, o);
    }
    return o;
}

std::optional<OutboundOutcome> outbound_replayed(SqlCaseStore::Tx& tx, const std::string& key) {
    auto row = tx.one(
        "SELECT id, message_id FROM messages WHERE direction = 'out' AND spool_id = $1", {key});
    if (!row) return std::nullopt;
    OutboundOutcome o;
    o.replay = true;
    o.message = sql::as_int((*row)[0]);
    o.message_id = sql::as_text((*row)[1]);
    for (const sql::Row& d :
         tx.q("SELECT id, state FROM deliveries WHERE message_id = $1 ORDER BY id", {o.message})) {
        o.deliveries.push_back(sql::as_int(d[0]));
        const std::string state = sql::as_text(d[1]);
        o.states.push_back(state == "delivered" ? DeliveryState::delivered
                           : state == "failed"  ? DeliveryState::failed
                                                : DeliveryState::queued);
    }
    return o;
}

}  // namespace

SqlCaseStore::SqlCaseStore(std::unique_ptr<sql::Db> db,
                           std::shared_ptr<const config::Config> config, const util::Clock& clock)
    : db_(std::move(db)),
      config_(std::move(config)),
      clock_(clock),
      holidays_(holidays_from(config_->organisation.holidays)) {}

util::Result<std::unique_ptr<SqlCaseStore>> SqlCaseStore::open(
    std::unique_ptr<sql::Db> db, std::shared_ptr<const config::Config> config,
    const util::Clock& clock) {
    if (util::Status s = migrate(*db, clock.now()); !s.ok()) return s.error();
    return std::unique_ptr<SqlCaseStore>(new SqlCaseStore(std::move(db), std::move(config), clock));
}

void SqlCaseStore::set_config(std::shared_ptr<const config::Config> config) {
    std::lock_guard lock(mu_);
    holidays_ = holidays_from(config->organisation.holidays);
    config_ = std::move(config);
}

util::Status SqlCaseStore::group(const std::function<void()>& body) {
    std::lock_guard lock(mu_);
    if (in_group_) return util::Error::permanent("store: groups do not nest");
    if (util::Status s = db_->begin(); !s.ok()) return s;
    in_group_ = true;
    group_lost_.reset();
    struct Leave {
        SqlCaseStore& store;
        ~Leave() {
            store.in_group_ = false;
            store.group_lost_.reset();
        }
    } leave{*this};
    try {
        body();
    } catch (...) {
        db_->rollback();
        throw;
    }
    if (!group_lost_ && !db_->in_transaction())
        group_lost_ = util::Error::temporary("the database rolled the group's transaction back");
    if (group_lost_) {
        db_->rollback();
        return *group_lost_;
    }
    if (util::Status s = db_->commit(); !s.ok()) {
        db_->rollback();
        return s;
    }
    return {};
}

util::Result<InboundOutcome> SqlCaseStore::record_inbound(const InboundRequest& r) {
    return transaction<InboundOutcome>([&](Tx& tx) {
        const std::size_t max_keys = tx.config.gateway.limits.max_thread_keys;
        if (std::optional<InboundOutcome> done = replayed(tx, r)) return *done;
        if (!r.keys.sender.empty()) {
            lock_sender(tx, r.keys.sender);
            // The same message may have been recorded while this one waited for the lock.
            if (std::optional<InboundOutcome> done = replayed(tx, r)) return *done;
        }
        ThreadKeys keys = r.keys;
        keys.service = r.service;
        const ThreadDecision d =
            decide_thread(keys, thread_facts(tx, keys, max_keys, r.message_id), tx.now);
        InboundOutcome o;
        o.rule = d.rule;
        o.flagged = d.flagged;
        o.reason = d.reason;
        if (d.case_id) {
            o.reopened = d.reopen;
            o.case_ = d.reopen ? reopen_case(tx, *d.case_id)
                               : *tx.case_where("WHERE c.id = $1", {*d.case_id});
            tx.event(o.case_->id, "threaded", std::string(to_string(d.rule)) + ": " + d.reason);
            if (d.flagged) tx.event(o.case_->id, "flagged", "sender is not the case's citizen");
        } else if (r.may_open_case) {
            o.case_ = open_case(tx, r, d);
            o.created = true;
        }
        sql::Value case_id = o.case_ ? sql::Value{o.case_->id} : sql::Value{sql::Null{}};
        // A duplicate tells nobody of an absence: its first copy did, or a later message will.
        if (o.case_) route(tx, *o.case_, r.kind == "human" && d.rule != ThreadRule::duplicate, o);
        if (!o.case_)
            tx.event(std::nullopt, "unthreaded", r.kind + " " + r.spool_id + ": " + d.reason);
        o.message = tx.insert(
            "INSERT INTO messages (case_id, direction, kind, spool_id, message_id, sender, "
            "subject, at, raw, decision) VALUES ($1, 'in', $2, $3, $4, $5, $6, $7, $8, $9) "
            "RETURNING id",
            {case_id, r.kind, r.spool_id, r.message_id, r.keys.sender, r.subject, tx.now_s,
             sql::Blob{r.raw}, encode(o)});
        if (o.case_) record_references(tx, o.message, r, max_keys);
        if (o.case_) case_context(tx, o);
        return o;
    });
}

util::Result<ThreadDecision> SqlCaseStore::find_thread(const ThreadKeys& keys) {
    return transaction<ThreadDecision>([&](Tx& tx) {
        return decide_thread(keys, thread_facts(tx, keys, tx.config.gateway.limits.max_thread_keys),
                             tx.now);
    });
}

util::Result<OutboundOutcome> SqlCaseStore::record_outbound(const OutboundRequest& r) {
    return transaction<OutboundOutcome>([&](Tx& tx) {
        if (std::optional<OutboundOutcome> done = outbound_replayed(tx, r.key)) return *done;
        if (!tx.case_where("WHERE c.id = $1", {r.case_id}))
            fail_permanent("no case with id " + std::to_string(r.case_id));
        OutboundOutcome o;
        o.message_id = r.message_id;
        // Another gateway may record the same key at the same time (a deadline both saw due):
        // its row wins, and this call answers as a replay of it.
        auto row = tx.one(
            "INSERT INTO messages (case_id, direction, kind, spool_id, message_id, sender, "
            "subject, at, raw) VALUES ($1, 'out', $2, $3, $4, $5, $6, $7, $8) ON CONFLICT "
            "(direction, spool_id) DO NOTHING RETURNING id",
            {r.case_id, r.kind, r.key, r.message_id, r.sender, r.subject, tx.now_s,
             sql::Blob{r.raw}});
        if (!row) {
            if (std::optional<OutboundOutcome> done = outbound_replayed(tx, r.key)) return *done;
            fail_permanent("outbound key " + r.key + " conflicts but reads back nothing");
        }
        o.message = sql::as_int((*row)[0]);
        for (const auto& [kind, detail] : r.events) tx.event(r.case_id, kind, detail);
        const bool automatic = is_automatic(r.kind);
        for (const std::string& to : r.recipients) {
            o.states.push_back(DeliveryState::queued);
            o.deliveries.push_back(tx.insert(
                "INSERT INTO deliveries (message_id, recipient, state, updated_at) VALUES ($1, "
                "$2, 'queued', $3) RETURNING id",
                {o.message, to, tx.now_s}));
            if (!automatic) continue;
            const std::string key = lower(to);
            tx.q("DELETE FROM notice_log WHERE recipient_key = $1 AND at <= $2",
                 {key, tx.now_s - notice_window_s});
            tx.q("INSERT INTO notice_log (recipient_key, at) VALUES ($1, $2)", {key, tx.now_s});
        }
        return o;
    });
}

util::Status SqlCaseStore::set_delivery(std::int64_t delivery, DeliveryState state,
                                        const std::string& error) {
    util::Result<bool> r = transaction<bool>([&](Tx& tx) {
        auto row = tx.one(
            "UPDATE deliveries SET state = $1, attempts = attempts + 1, "
            "last_error = $2, updated_at = $3 WHERE id = $4 RETURNING id",
            {std::string(to_string(state)), error, tx.now_s, delivery});
        if (!row) fail_permanent("no delivery " + std::to_string(delivery));
        return true;
    });
    if (!r) return r.error();
    return {};
}

util::Result<std::uint32_t> SqlCaseStore::agent_party(const std::string& agent) {
    return transaction<std::uint32_t>([&](Tx& tx) {
        if (!tx.config.find_agent(agent)) fail_permanent("unknown agent " + agent);
        std::int64_t id = tx.insert(
            "INSERT INTO agents (agent) VALUES ($1) ON CONFLICT (agent) DO UPDATE SET agent = "
            "EXCLUDED.agent RETURNING id",
            {agent});
        return static_cast<std::uint32_t>(id);
    });
}

util::Result<AgentCheck> SqlCaseStore::check_agent(std::int64_t case_id, const std::string& agent) {
    return transaction<AgentCheck>([&](Tx& tx) {
        AgentCheck out;
        out.case_ = tx.case_where("WHERE c.id = $1", {case_id});
        if (!out.case_) return out;
        out.current = out.case_->referent;
        if (!agent.empty() && out.case_->referent == agent) {
            out.verdict = AgentVerdict::referent;
        } else if (covering(out.case_->referent, tx.all_absences(), tx.today).agent == agent &&
                   !agent.empty()) {
            out.verdict = AgentVerdict::delegate;
        } else if (tx.one("SELECT id FROM referent_history WHERE case_id = $1 AND agent = $2",
                          {case_id, agent})) {
            out.verdict = AgentVerdict::former_referent;
        } else {
            out.verdict = AgentVerdict::not_on_case;
        }
        return out;
    });
}

}  // namespace referent::cases
