// cases/sql_case_store_tx.hpp — PRIVATE to sql_case_store*.cpp: one transaction's queries.
//
// Contract: a Tx lives inside SqlCaseStore::transaction() only. Its queries throw Failure on a
// database error; transaction() catches it, rolls back and returns the error (so failures
// never leave the store as exceptions, and use-case code reads as straight-line steps).
// "now" and "today" are fixed for the whole transaction.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cases/sql_case_store.hpp"
#include "util/cat.hpp"

namespace referent::cases {

struct Failure {
    util::Error error;
};

[[noreturn]] void fail_permanent(std::string message);

std::string_view case_select();  // "SELECT <case columns> FROM cases c JOIN citizens z … "
std::vector<Case> cases_of(const sql::Rows& rows);

std::string lower(std::string s);  // ASCII: addresses compare so (RFC 5321 domains, and practice)
// The notices' rate limit: automatic messages (every outbound kind but forward and reply) to
// one address within this window (notice_log, schema version 2).
inline constexpr std::int64_t notice_window_s = 86400;
inline bool is_automatic(std::string_view kind) {
    return kind != "forward" && kind != "reply";
}

std::int64_t to_seconds(Instant t);
Instant from_seconds(std::int64_t s);
std::string day_text(Day d);  // "YYYY-MM-DD"
Day parse_day(std::string_view s);

class SqlCaseStore::Tx {
public:
    Tx(sql::Db& db, const config::Config& config, Instant now, Holidays holidays);

    sql::Rows q(std::string_view sql, const std::vector<sql::Value>& params = {});
    std::optional<sql::Row> one(std::string_view sql, const std::vector<sql::Value>& params = {});
    std::int64_t insert(std::string_view sql,
                        const std::vector<sql::Value>& params);  // RETURNING id

    std::optional<Case> case_where(std::string_view condition,
                                   const std::vector<sql::Value>& params);
    Case case_or_fail(const std::string& number);
    std::vector<AbsencePeriod> all_absences();
    void event(std::optional<std::int64_t> case_id, std::string_view kind,
               const std::string& detail);
    const config::Service& service(const std::string& id) const;  // fails on an unknown id
    Day due_from_today(const config::Service& s) const;

    const config::Config& config;
    const Instant now;
    const std::int64_t now_s;
    const Day today;
    const Holidays holidays;

private:
    sql::Db& db_;
};

inline constexpr int max_attempts = 5;  // temporary failures (busy, serialization) retried

// Undoes the current call of a group; false when the group's transaction did not survive.
inline bool SqlCaseStore::undo_call() {
    util::Status undone = db_->script("ROLLBACK TO SAVEPOINT call");
    if (undone.ok()) undone = db_->script("RELEASE SAVEPOINT call");
    return undone.ok() && db_->in_transaction();
}

template <class T, class F>
util::Result<T> SqlCaseStore::transaction(F&& body) {
    std::lock_guard lock(mu_);
    if (in_group_) {
        // Inside a group: a savepoint, so this call fails alone and the group goes on — as
        // long as the group's transaction is there. Once the engine has rolled it back, a
        // SAVEPOINT would open a transaction of its own: every later call fails instead, and
        // so does the group (group_lost_), which its caller retries whole.
        if (!group_lost_ && !db_->in_transaction())
            group_lost_ =
                util::Error::temporary("the database rolled the group's transaction back");
        if (group_lost_) return *group_lost_;
        auto lost = [this](const util::Error& why) {
            group_lost_ = util::Error::temporary(
                util::cat("the database rolled the group's transaction back (", why.message, ")"));
        };
        if (util::Status s = db_->script("SAVEPOINT call"); !s.ok()) {
            lost(s.error());
            return s.error();
        }
        try {
            Tx tx(*db_, *config_, clock_.now(), holidays_);
            T value = body(tx);
            if (util::Status s = db_->script("RELEASE SAVEPOINT call"); !s.ok()) {
                lost(s.error());
                return s.error();
            }
            return value;
        } catch (const Failure& f) {
            if (!undo_call()) lost(f.error);
            return f.error;
        } catch (...) {  // a bug: the caller hears of it, and the group goes on without the call
            if (!undo_call()) lost(util::Error::temporary("an exception left a call"));
            throw;
        }
    }
    util::Error last = util::Error::temporary("no attempt");
    for (int attempt = 0; attempt < max_attempts; ++attempt) {
        if (util::Status s = db_->begin(); !s.ok()) {
            last = s.error();
            if (!last.is_temporary()) return last;
            continue;
        }
        try {
            Tx tx(*db_, *config_, clock_.now(), holidays_);
            T value = body(tx);
            if (util::Status s = db_->commit(); !s.ok()) {
                db_->rollback();
                last = s.error();
                if (!last.is_temporary()) return last;
                continue;
            }
            return value;
        } catch (const Failure& f) {
            db_->rollback();
            last = f.error;
            if (!last.is_temporary()) return last;
        }
    }
    return last;
}

}  // namespace referent::cases
