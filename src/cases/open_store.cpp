// Opening the configured store: see open_store.hpp.
#include "cases/open_store.hpp"

#include "cases/sql_case_store.hpp"

namespace referent::cases {

util::Result<std::unique_ptr<CaseStore>> open_case_store(
    std::shared_ptr<const config::Config> config, const util::Clock& clock,
    sql::Durability durability) {
    util::Result<std::unique_ptr<sql::Db>> db =
        config->store.postgresql
            ? sql::open_postgresql(*config->store.postgresql)
            : sql::open_sqlite(config->store.sqlite.value_or(":memory:"), 5000, durability);
    if (!db) return db.error();
    auto store = SqlCaseStore::open(std::move(db).value(), std::move(config), clock);
    if (!store) return store.error();
    return std::unique_ptr<CaseStore>(std::move(store).value());
}

}  // namespace referent::cases
