// cases/open_store.hpp — the case store the configuration names.
//
// Contract: opens `store.sqlite` (creating the file; its directory must exist) or connects to
// `store.postgresql`, then migrates the schema. Errors name the database and say what to fix:
// permanent for what the operator must change (path, newer schema), temporary for what may
// pass (PostgreSQL not reachable yet).
#pragma once

#include <memory>

#include "cases/case_store.hpp"
#include "cases/sql.hpp"
#include "config/config.hpp"
#include "util/clock.hpp"

namespace referent::cases {

// `durability`: of an SQLite store's commits (sql.hpp); PostgreSQL's are its own.
util::Result<std::unique_ptr<CaseStore>> open_case_store(
    std::shared_ptr<const config::Config> config, const util::Clock& clock,
    sql::Durability durability = sql::Durability::full);

}  // namespace referent::cases
