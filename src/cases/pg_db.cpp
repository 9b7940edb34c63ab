// The PostgreSQL driver of the store's seam: see sql.hpp. The only libpq user.
#include <libpq-fe.h>

#include <map>

#include "cases/sql.hpp"
#include "util/cat.hpp"

namespace referent::cases::sql {

namespace {

constexpr unsigned bytea_oid = 17;

struct ResultDeleter {
    void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

// Serialization failures, deadlocks, lost connections, resource shortages and operator
// shutdowns pass with a retry; the rest (syntax, constraints, types) do not.
bool retryable(const char* sqlstate) {
    if (!sqlstate) return true;  // no server answer: the connection
    std::string_view s(sqlstate);
    return s.starts_with("40") || s.starts_with("08") || s.starts_with("53") ||
           s.starts_with("57P") || s == "55P03";
}

class PgDb final : public Db {
public:
    explicit PgDb(PGconn* conn) : conn_(conn) {}
    ~PgDb() override { PQfinish(conn_); }
    PgDb(const PgDb&) = delete;
    PgDb& operator=(const PgDb&) = delete;

    Engine engine() const override { return Engine::postgresql; }

    util::Status script(std::string_view sql) override {
        if (util::Status s = connected(); !s.ok()) return s;
        std::string text(sql);
        PgResult r(PQexec(conn_, text.c_str()));
        util::Result<Rows> c = check(r.get());
        if (!c) return c.error();
        return {};
    }

    util::Result<Rows> query(std::string_view sql, const std::vector<Value>& params) override {
        if (util::Status s = connected(); !s.ok()) return s.error();
        util::Result<std::string> name = prepared(sql, params.size());
        if (!name) return name.error();
        std::vector<std::string> texts(params.size());
        std::vector<const char*> values(params.size());
        std::vector<int> lengths(params.size()), formats(params.size());
        for (std::size_t i = 0; i < params.size(); ++i) {
            const Value& v = params[i];
            if (std::holds_alternative<Null>(v)) {
                values[i] = nullptr;
                continue;
            }
            if (const auto* n = std::get_if<std::int64_t>(&v))
                texts[i] = std::to_string(*n);
            else if (const auto* s = std::get_if<std::string>(&v))
                texts[i] = *s;
            else {
                texts[i] = std::get<Blob>(v).bytes;
                formats[i] = 1;  // binary: bytea takes the bytes as they are
            }
            values[i] = texts[i].data();
            lengths[i] = static_cast<int>(texts[i].size());
        }
        PgResult r(PQexecPrepared(conn_, name->c_str(), static_cast<int>(params.size()),
                                  values.data(), lengths.data(), formats.data(), 0));
        if (util::Result<Rows> c = check(r.get()); !c.ok()) return c.error();
        return rows(r.get());
    }

    util::Status begin() override {
        util::Status s = script("BEGIN");
        in_transaction_ = s.ok();
        return s;
    }
    util::Status commit() override {
        util::Status s = script("COMMIT");
        in_transaction_ = false;  // a COMMIT that fails ends the transaction too (rolled back)
        return s;
    }
    void rollback() override {
        if (PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) != PQTRANS_IDLE)
            (void)script("ROLLBACK");
        in_transaction_ = false;
    }
    bool in_transaction() const override {
        if (PQstatus(conn_) != CONNECTION_OK) return false;
        const PGTransactionStatusType t = PQtransactionStatus(conn_);
        return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
    }

private:
    util::Status connected() {
        if (PQstatus(conn_) == CONNECTION_OK) return {};
        // Lost inside a transaction: the server rolled it back. Reconnecting here would run
        // the transaction's remaining statements, and its COMMIT, in a fresh session where
        // each commits alone (and COMMIT only warns): the caller would take half a
        // transaction, or none, for a whole one. Every statement fails until rollback().
        if (in_transaction_)
            return util::Error::temporary(
                "postgresql: connection lost inside a transaction (rolled back)");
        PQreset(conn_);  // a restarted server: the next transaction gets a fresh session
        statements_.clear();
        if (PQstatus(conn_) == CONNECTION_OK) return {};
        return util::Error::temporary(std::string("postgresql: ") + PQerrorMessage(conn_));
    }

    util::Result<std::string> prepared(std::string_view sql, std::size_t n) {
        std::string key(sql);
        if (auto it = statements_.find(key); it != statements_.end()) return it->second;
        std::string name = util::cat("s", std::to_string(statements_.size()));
        PgResult r(PQprepare(conn_, name.c_str(), key.c_str(), static_cast<int>(n), nullptr));
        if (util::Result<Rows> c = check(r.get()); !c.ok()) return c.error();
        statements_.emplace(std::move(key), name);
        return name;
    }

    util::Result<Rows> check(PGresult* r) {
        ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return Rows{};
        const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
        std::string m = "postgresql: ";
        const char* text = r ? PQresultErrorMessage(r) : PQerrorMessage(conn_);
        m += text && *text ? text : PQerrorMessage(conn_);
        while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
        if (PQstatus(conn_) != CONNECTION_OK) return util::Error::temporary(m);
        return retryable(state) ? util::Error::temporary(m) : util::Error::permanent(m);
    }

    static Rows rows(PGresult* r) {
        Rows out;
        const int n = PQntuples(r), cols = PQnfields(r);
        out.reserve(static_cast<std::size_t>(n));
        for (int i = 0; i < n; ++i) {
            Row row;
            for (int c = 0; c < cols; ++c) {
                if (PQgetisnull(r, i, c)) {
                    row.emplace_back(std::nullopt);
                } else if (PQftype(r, c) == bytea_oid) {
                    std::size_t len = 0;
                    unsigned char* raw = PQunescapeBytea(
                        reinterpret_cast<const unsigned char*>(PQgetvalue(r, i, c)), &len);
                    row.emplace_back(std::string(reinterpret_cast<char*>(raw), len));
                    PQfreemem(raw);
                } else {
                    row.emplace_back(std::string(PQgetvalue(r, i, c),
                                                 static_cast<std::size_t>(PQgetlength(r, i, c))));
                }
            }
            out.push_back(std::move(row));
        }
        return out;
    }

    PGconn* conn_;
    bool in_transaction_ = false;  // between a BEGIN that succeeded and commit() or rollback()
    std::map<std::string, std::string, std::less<>> statements_;
};

}  // namespace

util::Result<std::unique_ptr<Db>> open_postgresql(const std::string& conninfo) {
    PGconn* conn = PQconnectdb(conninfo.c_str());
    if (PQstatus(conn) != CONNECTION_OK) {
        std::string m = std::string("postgresql: ") + PQerrorMessage(conn);
        while (!m.empty() && m.back() == '\n') m.pop_back();
        PQfinish(conn);
        return util::Error::temporary(m);
    }
    auto db = std::make_unique<PgDb>(conn);
    // Notices (e.g. "relation already exists, skipping") are not errors: keep them off stderr.
    PQsetNoticeProcessor(
        conn, [](void*, const char*) {}, nullptr);
    if (util::Status s = db->script("SET client_min_messages = warning"); !s.ok()) return s.error();
    return std::unique_ptr<Db>(std::move(db));
}

}  // namespace referent::cases::sql
