// Schema migrations: see schema.hpp.
#include "cases/schema.hpp"

#include <string>
#include <vector>

namespace referent::cases {

namespace {

struct Migration {
    std::int64_t version;
    const char* sql;  // portable text; {id}, {blob} and the triggers differ per engine
};

// Events are append-only: the purge pseudonymises citizens but keeps every decision.
const char* const sqlite_events_guard = R"(
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
)";

const char* const pg_events_guard = R"(
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN RAISE EXCEPTION 'events are append-only'; END $$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
FOR EACH ROW EXECUTE FUNCTION events_append_only();
)";

// The number of open cases of each referent, kept by the database itself whatever changes a
// case (opening, closing, reopening, reassignment, an operator's SQL): assigning a new case
// reads one row per agent instead of counting every open case of the agent.
const char* const sqlite_open_counts = R"(
CREATE TRIGGER cases_open_count_insert AFTER INSERT ON cases WHEN NEW.status = 'open'
BEGIN
  INSERT INTO open_case_counts (referent, n) VALUES (NEW.referent, 1)
    ON CONFLICT (referent) DO UPDATE SET n = open_case_counts.n + 1;
END;
CREATE TRIGGER cases_open_count_delete AFTER DELETE ON cases WHEN OLD.status = 'open'
BEGIN
  UPDATE open_case_counts SET n = n - 1 WHERE referent = OLD.referent;
END;
CREATE TRIGGER cases_open_count_update AFTER UPDATE OF status, referent ON cases
BEGIN
  UPDATE open_case_counts SET n = n - 1 WHERE OLD.status = 'open' AND referent = OLD.referent;
  INSERT INTO open_case_counts (referent, n) SELECT NEW.referent, 1 WHERE NEW.status = 'open'
    ON CONFLICT (referent) DO UPDATE SET n = open_case_counts.n + 1;
END;
)";

const char* const pg_open_counts = R"(
CREATE FUNCTION cases_open_count() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN
  IF TG_OP <> 'INSERT' THEN
    IF OLD.status = 'open' THEN
      UPDATE open_case_counts SET n = n - 1 WHERE referent = OLD.referent;
    END IF;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    IF NEW.status = 'open' THEN
      INSERT INTO open_case_counts (referent, n) VALUES (NEW.referent, 1)
        ON CONFLICT (referent) DO UPDATE SET n = open_case_counts.n + 1;
    END IF;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER cases_open_count AFTER INSERT OR DELETE OR UPDATE OF status, referent ON cases
FOR EACH ROW EXECUTE FUNCTION cases_open_count();
)";

const std::vector<Migration>& migrations() {
    static const std::vector<Migration> all = {
        {1, R"(
CREATE TABLE citizens (
  id {id},
  address TEXT NOT NULL,
  address_key TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL DEFAULT ''
);
CREATE TABLE agents (id {id}, agent TEXT NOT NULL UNIQUE);
CREATE TABLE case_sequences (
  service TEXT NOT NULL, year BIGINT NOT NULL, last BIGINT NOT NULL,
  PRIMARY KEY (service, year)
);
CREATE TABLE service_state (service TEXT PRIMARY KEY, last_assigned TEXT NOT NULL);
CREATE TABLE cases (
  id {id},
  number TEXT NOT NULL UNIQUE,
  service TEXT NOT NULL,
  citizen_id BIGINT NOT NULL REFERENCES citizens (id),
  referent TEXT NOT NULL,
  status TEXT NOT NULL,
  opened_at BIGINT NOT NULL,
  due_on TEXT NOT NULL,
  closed_at BIGINT,
  predecessor_id BIGINT REFERENCES cases (id)
);
CREATE INDEX cases_citizen ON cases (citizen_id, service, opened_at);
CREATE INDEX cases_open_referent ON cases (status, referent);
CREATE TABLE messages (
  id {id},
  case_id BIGINT REFERENCES cases (id),
  direction TEXT NOT NULL,
  kind TEXT NOT NULL,
  spool_id TEXT NOT NULL,
  message_id TEXT NOT NULL,
  sender TEXT NOT NULL,
  subject TEXT NOT NULL,
  at BIGINT NOT NULL,
  raw {blob},
  decision TEXT NOT NULL DEFAULT '',
  UNIQUE (direction, spool_id)
);
CREATE INDEX messages_message_id ON messages (message_id);
CREATE INDEX messages_case ON messages (case_id, id);
CREATE TABLE referent_history (
  id {id},
  case_id BIGINT NOT NULL REFERENCES cases (id),
  agent TEXT NOT NULL,
  from_at BIGINT NOT NULL,
  to_at BIGINT,
  reason TEXT NOT NULL
);
CREATE INDEX referent_history_case ON referent_history (case_id, id);
CREATE TABLE absences (
  id {id},
  agent TEXT NOT NULL,
  from_on TEXT NOT NULL,
  to_on TEXT NOT NULL,
  delegate TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE absence_notices (
  case_id BIGINT NOT NULL REFERENCES cases (id),
  absence_key TEXT NOT NULL,
  PRIMARY KEY (case_id, absence_key)
);
CREATE TABLE deliveries (
  id {id},
  message_id BIGINT NOT NULL REFERENCES messages (id),
  recipient TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts BIGINT NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  updated_at BIGINT NOT NULL
);
CREATE INDEX deliveries_message ON deliveries (message_id);
CREATE INDEX deliveries_recipient ON deliveries (lower(recipient));
CREATE TABLE events (
  id {id},
  case_id BIGINT REFERENCES cases (id),
  at BIGINT NOT NULL,
  kind TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX events_case ON events (case_id, id);
{events_guard}
)"},
        // The notices' rate limit counts the automatic messages sent to one address in the
        // last day. Through deliveries and messages that read every message ever sent to the
        // address (a row of raw bytes each): this log, indexed by (address, time), holds one
        // row per automatic delivery, and rows older than a day go as new ones come.
        {2, R"(
CREATE TABLE notice_log (
  recipient_key TEXT NOT NULL,
  at BIGINT NOT NULL
);
CREATE INDEX notice_log_recipient ON notice_log (recipient_key, at);
INSERT INTO notice_log (recipient_key, at)
  SELECT lower(d.recipient), m.at FROM deliveries d JOIN messages m ON m.id = d.message_id
  WHERE m.direction = 'out' AND m.kind NOT IN ('forward', 'reply');
)"},
        // The deadlines' pass reads the open cases by due date.
        {3, R"(
CREATE INDEX cases_open_due ON cases (status, due_on);
)"},
        // Several gateways on one database. An inbound record first takes its sender's lock
        // row (a hash slot, no address kept), so two messages of one citizen are decided one
        // after the other whichever gateways hold them; and the Message-IDs an inbound
        // message names are kept, so a first message processed after its own follow-up
        // finds the case the follow-up opened.
        {4, R"(
CREATE TABLE sender_locks (slot BIGINT PRIMARY KEY, taken BIGINT NOT NULL DEFAULT 0);
CREATE TABLE message_references (
  message_id BIGINT NOT NULL REFERENCES messages (id),
  reference TEXT NOT NULL
);
CREATE INDEX message_references_reference ON message_references (reference);
CREATE INDEX message_references_message ON message_references (message_id);
)"},
        // Open cases per referent (see sqlite_open_counts), counted once here.
        {5, R"(
CREATE TABLE open_case_counts (referent TEXT PRIMARY KEY, n BIGINT NOT NULL);
INSERT INTO open_case_counts (referent, n)
  SELECT referent, COUNT(*) FROM cases WHERE status = 'open' GROUP BY referent;
{open_counts}
)"},
    };
    return all;
}

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
    for (std::size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size())
        s.replace(p, from.size(), to);
    return s;
}

std::string for_engine(const char* sql, sql::Engine e) {
    const bool pg = e == sql::Engine::postgresql;
    std::string s = replace_all(
        sql, "{id}",
        pg ? "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY" : "INTEGER PRIMARY KEY");
    s = replace_all(std::move(s), "{blob}", pg ? "BYTEA" : "BLOB");
    s = replace_all(std::move(s), "{open_counts}", pg ? pg_open_counts : sqlite_open_counts);
    return replace_all(std::move(s), "{events_guard}", pg ? pg_events_guard : sqlite_events_guard);
}

util::Status apply_missing(sql::Db& db, Instant now) {
    if (db.engine() == sql::Engine::postgresql) {
        // One gateway migrates; the others wait here, then find nothing left to do.
        if (auto r = db.query("SELECT pg_advisory_xact_lock(7262070)", {}); !r) return r.error();
    }
    // Under the lock: two gateways starting at once on an empty database would otherwise both
    // create the table, and PostgreSQL fails one of them (a unique violation in its catalog).
    if (util::Status s = db.script("CREATE TABLE IF NOT EXISTS schema_migrations ("
                                   "version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)");
        !s.ok())
        return s;
    util::Result<std::int64_t> current = schema_version(db);
    if (!current) return current.error();
    if (*current > latest_schema_version())
        return util::Error::permanent(
            "the database has schema version " + std::to_string(*current) +
            ", newer than this binary knows (" + std::to_string(latest_schema_version()) +
            "): run the newer referentd, or restore a database of this version");
    const std::int64_t at =
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    for (const Migration& m : migrations()) {
        if (m.version <= *current) continue;
        if (util::Status s = db.script(for_engine(m.sql, db.engine())); !s.ok())
            return util::Error{s.error().kind, "schema migration " + std::to_string(m.version) +
                                                   ": " + s.error().message};
        auto r = db.query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                          {m.version, at});
        if (!r) return r.error();
    }
    return {};
}

}  // namespace

std::int64_t latest_schema_version() {
    return migrations().back().version;
}

util::Result<std::int64_t> schema_version(sql::Db& db) {
    auto r = db.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", {});
    if (!r) return r.error();
    return r->empty() ? 0 : sql::as_int(r->front()[0]);
}

util::Status migrate(sql::Db& db, Instant now) {
    if (util::Status s = db.begin(); !s.ok()) return s;
    util::Status s = apply_missing(db, now);
    if (!s.ok()) {
        db.rollback();
        return s;
    }
    return db.commit();
}

}  // namespace referent::cases
