// The SQLite driver of the store's seam: see sql.hpp. The only sqlite3 user.
#include <sqlite3.h>

#include <charconv>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "cases/sql.hpp"
#include "util/cat.hpp"
#include "util/log.hpp"

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

// Checkpoints of a Durability::caller database, off the writer's thread. SQLite's own
// autocheckpoint runs inside the COMMIT that grows the log past its threshold: copying 16 MiB
// of log into the database and fsyncing both, while the store's lock is held and every other
// writer waits (up to 150 ms at 100 KB messages). Here the commit only wakes a thread, which
// runs the same PASSIVE checkpoint on a connection of its own (fsync of the log, copy, fsync of
// the database: SQLite's order, unchanged), while the writer goes on; the next commit then
// copies only what was written meanwhile. Should the log still reach twice the threshold (the
// thread behind), the writer checkpoints inline as before, so the log stays bounded.
class Checkpointer {
public:
    static constexpr int kPages = 4000;  // a checkpoint every 4000 pages of log (16 MiB)

    explicit Checkpointer(std::string path) : path_(std::move(path)) {
        thread_ = std::thread([this] { run(); });
    }
    Checkpointer(const Checkpointer&) = delete;
    Checkpointer& operator=(const Checkpointer&) = delete;
    ~Checkpointer() {
        {
            std::lock_guard lock(mu_);
            stopping_ = true;
        }
        cv_.notify_one();
        thread_.join();
    }

    // sqlite3_wal_hook: after each commit, with the pages now in the log. SQLite starts the log
    // over only when a write begins with every page of it copied, which a checkpoint running
    // beside the writer never achieves by itself: once the thread's pass is done, the next
    // commit copies the few pages written meanwhile, inline.
    static int on_commit(void* self, sqlite3* db, const char* name, int pages) {
        auto* c = static_cast<Checkpointer*>(self);
        if (pages < kPages) return SQLITE_OK;
        bool inline_now = pages >= 2 * kPages;
        {
            std::lock_guard lock(c->mu_);
            if (c->done_) {
                c->done_ = false;
                inline_now = true;
            } else if (!c->busy_ && !inline_now) {
                c->wanted_ = true;
            }
        }
        if (inline_now)
            (void)sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
        else
            c->cv_.notify_one();
        return SQLITE_OK;
    }

private:
    void run() {
        sqlite3* db = nullptr;
        for (;;) {
            {
                std::unique_lock lock(mu_);
                cv_.wait(lock, [this] { return stopping_ || wanted_; });
                if (stopping_) break;
                wanted_ = false;
                busy_ = true;
            }
            int rc = SQLITE_CANTOPEN;
            if (db != nullptr || open(db))
                rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                               nullptr);
            if (db != nullptr && rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY)
                util::log_warning("store", util::cat("sqlite checkpoint: ", sqlite3_errmsg(db)));
            std::lock_guard lock(mu_);
            busy_ = false;
            done_ = true;  // the next commit past the threshold finishes the job
        }
        sqlite3_close_v2(db);
    }

    bool open(sqlite3*& db) {
        if (sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                            nullptr) == SQLITE_OK &&
            sqlite3_exec(db, "PRAGMA synchronous=NORMAL", nullptr, nullptr, nullptr) == SQLITE_OK)
            return true;
        util::log_warning("store", util::cat("sqlite checkpoint: ", path_, ": ",
                                             db ? sqlite3_errmsg(db) : "cannot open"));
        sqlite3_close_v2(db);
        db = nullptr;
        return false;
    }

    std::string path_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool wanted_ = false;  // a pass asked for
    bool busy_ = false;    // a pass running
    bool done_ = false;    // a pass ended since the last inline checkpoint
    bool stopping_ = false;
    std::thread thread_;
};

class SqliteDb final : public Db {
public:
    explicit SqliteDb(sqlite3* db) : db_(db) {}
    ~SqliteDb() override {
        if (checkpointer_) sqlite3_wal_hook(db_, nullptr, nullptr);
        checkpointer_.reset();
        for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt.stmt);
        sqlite3_close_v2(db_);
    }

    // Checkpoints by a thread of their own from now on (Checkpointer).
    void checkpoint_in_background(const std::string& path) {
        checkpointer_ = std::make_unique<Checkpointer>(path);
        sqlite3_wal_hook(db_, &Checkpointer::on_commit, checkpointer_.get());
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
    std::unique_ptr<Checkpointer> checkpointer_;
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
    // log (16 MiB) rather than SQLite's default 1000, by a thread of its own (Checkpointer).
    // The page cache holds 16 MiB (SQLite's default is 2 MiB): a batch of the processor's
    // transaction writes every received message and every forward whole (32 messages of 100 KB
    // make about 8 MiB of pages); with a smaller cache SQLite spills dirty pages to the log one
    // by one in the middle of the transaction and reads them back.
    // Temporary files in memory: inside a group every store call is a savepoint, and SQLite
    // copies each page a savepoint changes, and each page a statement that may fail half-way
    // changes (a trigger, a constraint), to a journal of its own so it can undo them; on disk
    // (under /var/tmp) those copies cost more writes than the commit itself (measured: four
    // files of about 1,000 page writes a second each under the 5 KB load of bench/). They are
    // only ever read back by a rollback, never survive one, and are bounded by the pages of a
    // batch (the processor's batch stops at gateway.limits.max_message_size of input).
    const char* setup = path == ":memory:"                 ? "PRAGMA foreign_keys=ON"
                        : durability == Durability::caller ? "PRAGMA journal_mode=WAL; "
                                                             "PRAGMA synchronous=NORMAL; "
                                                             "PRAGMA cache_size=-16384; "
                                                             "PRAGMA temp_store=MEMORY; "
                                                             "PRAGMA foreign_keys=ON"
                                                           : "PRAGMA journal_mode=WAL; "
                                                             "PRAGMA synchronous=FULL; "
                                                             "PRAGMA cache_size=-16384; "
                                                             "PRAGMA temp_store=MEMORY; "
                                                             "PRAGMA foreign_keys=ON";
    if (util::Status s = out->script(setup); !s.ok())
        return util::Error{s.error().kind, path + ": " + s.error().message};
    if (path != ":memory:" && durability == Durability::caller)
        out->checkpoint_in_background(path);  // replaces SQLite's autocheckpoint
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
