// cases/schema.hpp — the store's schema, as numbered forward-only migrations.
//
// Contract: migrate() brings a database to the newest schema this binary knows, applying each
// missing migration and recording it in `schema_migrations` inside one transaction (on
// PostgreSQL under an advisory lock, so gateways starting together migrate once). A database
// whose schema is newer than the binary is refused with a permanent error that says so;
// nothing is changed. Migrations are never edited once released: a change is a new number.
// Thread-safety: as the Db.
#pragma once

#include <cstdint>

#include "cases/model.hpp"
#include "cases/sql.hpp"

namespace referent::cases {

std::int64_t latest_schema_version();
util::Status migrate(sql::Db& db, Instant now);
util::Result<std::int64_t> schema_version(sql::Db& db);  // 0 for an empty database

}  // namespace referent::cases
