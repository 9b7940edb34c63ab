// cases/sql_case_store.hpp — CaseStore on SQLite or PostgreSQL, through the sql::Db seam.
//
// Contract: as CaseStore. One implementation for both engines: the SQL is the portable subset
// of sql.hpp and the schema is schema.cpp's, so the contract suite runs the same code on both
// and only the drivers differ. open() migrates the schema first. Case numbers come from one
// row per (service, year) incremented inside the transaction that creates the case: unique and
// gapless, since a rolled-back case rolls its number back too.
// Thread-safety: a mutex serialises the methods on the one connection; several stores (threads
// or processes) may share one database: the engine arbitrates.
#pragma once

#include <memory>
#include <mutex>
#include <optional>

#include "cases/calendar.hpp"
#include "cases/case_store.hpp"
#include "cases/sql.hpp"
#include "config/config.hpp"
#include "util/clock.hpp"

namespace referent::cases {

class SqlCaseStore final : public CaseStore {
public:
    static util::Result<std::unique_ptr<SqlCaseStore>> open(
        std::unique_ptr<sql::Db> db, std::shared_ptr<const config::Config> config,
        const util::Clock& clock);

    util::Result<InboundOutcome> record_inbound(const InboundRequest& r) override;
    util::Result<ThreadDecision> find_thread(const ThreadKeys& keys) override;
    util::Result<OutboundOutcome> record_outbound(const OutboundRequest& r) override;
    util::Status set_delivery(std::int64_t delivery, DeliveryState state,
                              const std::string& error) override;
    util::Result<std::uint32_t> agent_party(const std::string& agent) override;
    util::Result<AgentCheck> check_agent(std::int64_t case_id, const std::string& agent) override;
    util::Result<Handover> reassign(const std::string& number, const std::string& agent,
                                    const std::string& reason) override;
    util::Result<Case> close(const std::string& number) override;
    util::Result<Case> reopen(const std::string& number) override;
    util::Result<StoredAbsence> add_absence(const AbsencePeriod& a) override;
    util::Result<std::size_t> end_absence(const std::string& agent) override;
    util::Result<std::vector<StoredAbsence>> absences() override;
    util::Result<std::optional<Case>> find_case(const std::string& number) override;
    util::Result<std::optional<Case>> case_by_id(std::int64_t id) override;
    util::Result<std::vector<Case>> list_cases(const CaseFilter& f) override;
    util::Result<CaseFile> case_file(const std::string& number) override;
    util::Result<std::optional<std::string>> message_raw(std::int64_t message) override;
    util::Result<std::vector<std::string>> citizen_thread(std::int64_t case_id,
                                                          std::size_t max) override;
    util::Result<std::uint32_t> notices_sent(const std::string& recipient) override;
    util::Result<std::vector<Case>> awaiting_answer(Day until, std::size_t limit) override;
    util::Result<Counts> counts() override;
    util::Result<PurgeReport> purge(bool dry_run) override;
    util::Result<std::vector<Activity>> activity(Instant since) override;
    util::Status record_event(std::optional<std::int64_t> case_id, const std::string& kind,
                              const std::string& detail) override;

    util::Status group(const std::function<void()>& body) override;
    void set_config(std::shared_ptr<const config::Config> config) override;

    sql::Db& db() { return *db_; }  // tests and benchmarks

    class Tx;  // one transaction's queries (sql_case_store_tx.hpp)

private:
    SqlCaseStore(std::unique_ptr<sql::Db> db, std::shared_ptr<const config::Config> config,
                 const util::Clock& clock);

    // Runs `body(tx)` in one transaction, retrying a few times on temporary errors.
    template <class T, class F>
    util::Result<T> transaction(F&& body);
    bool undo_call();  // inside a group: back to before the current call

    // Recursive: a group holds it for its whole body, and the calls inside take it again.
    std::recursive_mutex mu_;
    bool in_group_ = false;  // under mu_: calls are savepoints of the group's transaction
    // Under mu_: why the group's transaction is gone (the engine rolled it back, or a savepoint
    // could not be undone). The group's later calls fail at once and the group fails whole:
    // a call running on its own transaction would commit apart from the group, and the group's
    // commit would keep only what came after the loss.
    std::optional<util::Error> group_lost_;
    std::unique_ptr<sql::Db> db_;
    std::shared_ptr<const config::Config> config_;
    const util::Clock& clock_;
    Holidays holidays_;
};

}  // namespace referent::cases
