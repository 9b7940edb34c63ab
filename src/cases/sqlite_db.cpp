// The SQLite driver of the store's seam: see sql.hpp. The only sqlite3 user.
#include <sqlite3.h>

#include <charconv>
#include <functional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cases/sql.hpp"
#include "util/cat.hpp"

namespace referent::cases::sql {

namespace {

bool retryable(int code) {
    switch (code & 0xff) {
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
        case SQLITE_IOERR:
        case SQLITE_FULL:
        case SQLITE_PROTOCOL:
            return true;
        default:
            return false;
    }
}

class SqliteDb final : public Db {
public:
    explicit SqliteDb(sqlite3* db) : db_(db) {}
    ~SqliteDb() override {
        for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt.stmt);
        sqlite3_close_v2(db_);
    }
    SqliteDb(const SqliteDb&) = delete;
    SqliteDb& operator=(const SqliteDb&) = delete;

    Engine engine() const override { return Engine::sqlite; }

    util::Status script(std::string_view sql) override {
        std::string s(sql);
        char* msg = nullptr;
        int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &msg);
        if (rc == SQLITE_OK) return {};
        std::string text = msg ? msg : sqlite3_errstr(rc);
        sqlite3_free(msg);
        return error(rc, text);
    }

    util::Result<Rows> query(std::string_view sql, const std::vector<Value>& params) override {
        Statement* prepared_stmt = prepared(sql);
        if (!prepared_stmt) return error(sqlite3_errcode(db_), sqlite3_errmsg(db_));
        sqlite3_stmt* stmt = prepared_stmt->stmt;
        if (util::Status s = bind(*prepared_stmt, params); !s.ok()) return s.error();
        Rows rows;
        for (;;) {
            int rc = sqlite3_step(stmt);
            if (rc == SQLITE_DONE) break;
            if (rc != SQLITE_ROW) {
                util::Error e = error(rc, sqlite3_errmsg(db_));
                sqlite3_reset(stmt);
                return e;
            }
            rows.push_back(row(stmt));
        }
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);
        return rows;
    }

    util::Status begin() override { return script("BEGIN IMMEDIATE"); }
    util::Status commit() override { return script("COMMIT"); }
    void rollback() override {
        if (!sqlite3_get_autocommit(db_)) (void)script("ROLLBACK");
    }
    bool in_transaction() const override { return sqlite3_get_autocommit(db_) == 0; }

private:
    static util::Error error(int rc, std::string_view text) {
        std::string m = "sqlite: ";
        m.append(text);
        return retryable(rc) ? util::Error::temporary(m) : util::Error::permanent(m);
    }

    // A prepared statement, and where each of "$1", "$2"… goes in it (0: not used).
    struct Statement {
        sqlite3_stmt* stmt = nullptr;
        std::vector<int> slots;
    };

    // The index of "$<param + 1>" in the statement, looked up once (0: not used).
    static int slot(Statement& st, std::size_t param) {
        while (st.slots.size() <= param) {
            const std::string name = util::cat("$", std::to_string(st.slots.size() + 1));
            st.slots.push_back(sqlite3_bind_parameter_index(st.stmt, name.c_str()));
        }
        return st.slots[param];
    }

    // The statements are prepared once per connection and found again by their text.
    Statement* prepared(std::string_view sql) {
        if (auto it = cache_.find(sql); it != cache_.end()) return &it->second;
        Statement s;
        if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                               SQLITE_PREPARE_PERSISTENT, &s.stmt, nullptr) != SQLITE_OK)
            return nullptr;
        return &cache_.emplace(std::string(sql), s).first->second;
    }

    util::Status bind(Statement& st, const std::vector<Value>& params) {
        sqlite3_stmt* stmt = st.stmt;
        for (std::size_t i = 0; i < params.size(); ++i) {
            const int index = slot(st, i);
            if (index == 0) continue;  // not used by this statement
            const Value& v = params[i];
            int rc = SQLITE_OK;
            if (std::holds_alternative<Null>(v)) {
                rc = sqlite3_bind_null(stmt, index);
            } else if (const auto* n = std::get_if<std::int64_t>(&v)) {
                rc = sqlite3_bind_int64(stmt, index, *n);
            } else if (const auto* s = std::get_if<std::string>(&v)) {
                rc = sqlite3_bind_text64(stmt, index, s->data(), s->size(), SQLITE_TRANSIENT,
                                         SQLITE_UTF8);
            } else {
                const Blob& b = std::get<Blob>(v);
                rc = sqlite3_bind_blob64(stmt, index, b.bytes.data(), b.bytes.size(),
                                         SQLITE_TRANSIENT);
            }
            if (rc != SQLITE_OK) return error(rc, sqlite3_errmsg(db_));
        }
        return {};
    }

    static Row row(sqlite3_stmt* stmt) {
        Row r;
        const int n = sqlite3_column_count(stmt);
        for (int c = 0; c < n; ++c) {
            if (sqlite3_column_type(stmt, c) == SQLITE_NULL) {
                r.emplace_back(std::nullopt);
                continue;
            }
            const void* p = sqlite3_column_blob(stmt, c);
            const auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt, c));
            r.emplace_back(p ? std::string(static_cast<const char*>(p), size) : std::string());
        }
        return r;
    }

    sqlite3* db_;
    struct TextHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const {
            return std::hash<std::string_view>{}(s);
        }
    };
    std::unordered_map<std::string, Statement, TextHash, std::equal_to<>> cache_;
};

}  // namespace

util::Result<std::unique_ptr<Db>> open_sqlite(const std::string& path, int busy_ms,
                                              Durability durability) {
    sqlite3* db = nullptr;
    int rc =
        sqlite3_open_v2(path.c_str(), &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        std::string m =
            util::cat("sqlite: ", path, ": ", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close_v2(db);
        return util::Error::permanent(m);
    }
    sqlite3_busy_timeout(db, busy_ms);
    sqlite3_extended_result_codes(db, 1);
    auto out = std::make_unique<SqliteDb>(db);
    // WAL with synchronous=FULL: a commit is on disk when COMMIT returns. NORMAL would lose the
    // last transactions at a power cut (never their consistency: checkpoints still fsync the
    // log first), so it is only for a caller that flushes the file system itself before
    // anything depends on the commit (sql.hpp, Durability::caller). Each checkpoint then costs
    // the only fsyncs of SQLite's own (the log, then the database): one every 4000 pages of
    // log (16 MiB at most) rather than SQLite's default 1000.
    // The page cache holds 16 MiB (SQLite's default is 2 MiB): a batch of the processor's
    // transaction writes every received message and every forward whole (32 messages of 100 KB
    // make about 8 MiB of pages); with a smaller cache SQLite spills dirty pages to the log one
    // by one in the middle of the transaction and reads them back.
    const char* setup = path == ":memory:"                 ? "PRAGMA foreign_keys=ON"
                        : durability == Durability::caller ? "PRAGMA journal_mode=WAL; "
                                                             "PRAGMA synchronous=NORMAL; "
                                                             "PRAGMA wal_autocheckpoint=4000; "
                                                             "PRAGMA cache_size=-16384; "
                                                             "PRAGMA foreign_keys=ON"
                                                           : "PRAGMA journal_mode=WAL; "
                                                             "PRAGMA synchronous=FULL; "
                                                             "PRAGMA cache_size=-16384; "
                                                             "PRAGMA foreign_keys=ON";
    if (util::Status s = out->script(setup); !s.ok())
        return util::Error{s.error().kind, path + ": " + s.error().message};
    return std::unique_ptr<Db>(std::move(out));
}

std::int64_t as_int(const std::optional<std::string>& cell) {
    if (!cell) return 0;
    std::int64_t v = 0;
    std::from_chars(cell->data(), cell->data() + cell->size(), v);
    return v;
}

std::string as_text(const std::optional<std::string>& cell) {
    return cell ? *cell : std::string();
}

}  // namespace referent::cases::sql
