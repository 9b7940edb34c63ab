// cases/sql.hpp — the one seam between the case store and its two database engines.
//
// Contract: a Db is one connection to SQLite or PostgreSQL. Statements use "$1", "$2"… for
// parameters, numbered in order of first use (both engines read that form), and the schema's
// portable subset of SQL (ON CONFLICT, RETURNING, no engine-specific functions outside
// schema.cpp). Every value comes back as text (NULL as nullopt); blobs are bound as Blob and
// read back as their bytes. Errors are util::Error: temporary for what a retry can cure (busy,
// locked, serialization failure, deadlock, lost connection), permanent otherwise; the message
// names the engine and carries its own text. begin() opens a write transaction (SQLite takes
// the write lock at once, so two writers never deadlock on an upgrade).
// The drivers are the only users of sqlite3 (sqlite_db.cpp) and libpq (pg_db.cpp).
// Thread-safety: a Db is used by one thread at a time (the store serialises).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "util/result.hpp"

namespace referent::cases::sql {

enum class Engine { sqlite, postgresql };

struct Blob {
    std::string bytes;
};
using Null = std::monostate;
using Value = std::variant<Null, std::int64_t, std::string, Blob>;

using Row = std::vector<std::optional<std::string>>;
using Rows = std::vector<Row>;

class Db {
public:
    virtual ~Db() = default;
    virtual Engine engine() const = 0;
    // Several statements, no parameters (schema migrations).
    virtual util::Status script(std::string_view sql) = 0;
    virtual util::Result<Rows> query(std::string_view sql, const std::vector<Value>& params) = 0;
    virtual util::Status begin() = 0;
    virtual util::Status commit() = 0;
    virtual void rollback() = 0;  // best effort: a failed rollback leaves nothing committed
    // A transaction is open on the connection. SQLite rolls a whole transaction back by itself
    // on an I/O error or a full disk, whatever savepoint the failing statement was in.
    virtual bool in_transaction() const = 0;
};

// SQLite file (created when missing; its directory must exist), WAL, foreign keys on, busy
// timeout `busy_ms`. ":memory:" for a private in-memory database. Durability of a commit:
//   full    synchronous=FULL: the log is fsynced at every COMMIT (on disk when it returns);
//   caller  synchronous=NORMAL: COMMIT only writes the log; it is on disk after the caller's
//           next flush of the file system (referentd: when the database lives on the spool's
//           file system, the spool's covering flush, spool.hpp, comes before any input or item
//           that depends on the commit is removed). Never for a database nobody else flushes.
enum class Durability { full, caller };
util::Result<std::unique_ptr<Db>> open_sqlite(const std::string& path, int busy_ms = 5000,
                                              Durability durability = Durability::full);
// libpq connection string ("host=… port=… dbname=… user=…").
util::Result<std::unique_ptr<Db>> open_postgresql(const std::string& conninfo);

// Reading values back.
std::int64_t as_int(const std::optional<std::string>& cell);  // NULL → 0
std::string as_text(const std::optional<std::string>& cell);  // NULL → ""

}  // namespace referent::cases::sql
