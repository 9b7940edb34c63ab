// The contract suite's fixture: one configuration (two services, four agents), a manual clock,
// and a fresh store per test on the engine under test — a temporary SQLite file, or a private
// schema of the PostgreSQL named by REFERENT_TEST_PG (script/with-postgres starts one).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "cases/sql_case_store.hpp"
#include "util/clock.hpp"

namespace referent::cases::test {

using namespace std::chrono;

inline Instant paris(int y, unsigned m, unsigned d, int hour = 10) {
    // Fixed offsets are enough for the dates the tests use (CET in winter, CEST in summer).
    const bool summer = m >= 4 && m <= 10;
    return sys_days{year{y} / month{m} / day{d}} + hours{hour - (summer ? 2 : 1)};
}

inline config::Agent agent(std::string id, std::uint32_t max_open = 200) {
    config::Agent a;
    a.id = id;
    a.name = id;
    a.email = id + "@mairie.example.fr";
    a.max_open_cases = max_open;
    return a;
}

inline std::shared_ptr<config::Config> sample_config() {
    auto c = std::make_shared<config::Config>();
    c->organisation.citizen_domain = "mairie.example.fr";
    c->organisation.agent_domain = "agents.mairie.example.fr";
    c->organisation.holidays = "fr";
    config::Service ec;
    ec.id = "etat-civil";
    ec.name = "État civil";
    ec.address = "etat-civil@mairie.example.fr";
    ec.case_prefix = "EC";
    ec.assignment = config::Assignment::sticky;
    ec.response_days = 5;
    ec.reopen_days = 30;
    ec.agents = {"marie", "paul"};
    ec.fallback = "etat-civil-accueil@mairie.example.fr";
    config::Service urb = ec;
    urb.id = "urbanisme";
    urb.address = "urbanisme@mairie.example.fr";
    urb.case_prefix = "URB";
    urb.assignment = config::Assignment::round_robin;
    urb.agents = {"lea", "hugo"};
    c->services = {ec, urb};
    c->agents = {agent("marie"), agent("paul"), agent("lea"), agent("hugo", 2)};
    return c;
}

enum class Engine { sqlite, postgresql };

inline const char* engine_name(Engine e) {
    return e == Engine::sqlite ? "SQLite" : "PostgreSQL";
}

// Where the engine under test lives, and a fresh store on it.
class StoreEnv {
public:
    explicit StoreEnv(Engine e) : engine_(e) {
        if (e == Engine::sqlite) {
            char tmpl[] = "/tmp/referent-cases-XXXXXX";
            dir_ = mkdtemp(tmpl);
            return;
        }
        const char* pg = std::getenv("REFERENT_TEST_PG");
        if (!pg) return;
        // A private schema per test: the tests never see each other's rows.
        schema_ = "t" + std::to_string(::getpid()) + "_" + std::to_string(counter()++);
        auto admin = sql::open_postgresql(pg);
        if (!admin) throw std::runtime_error(admin.error().message);
        if (!(*admin)
                 ->script("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE; CREATE SCHEMA " + schema_)
                 .ok())
            throw std::runtime_error("cannot create schema " + schema_);
        conninfo_ = std::string(pg) + " options='-c search_path=" + schema_ + "'";
    }
    ~StoreEnv() {
        if (!dir_.empty()) std::filesystem::remove_all(dir_);
        if (!schema_.empty())
            if (auto admin = sql::open_postgresql(std::getenv("REFERENT_TEST_PG")))
                (void)(*admin)->script("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
    }
    StoreEnv(const StoreEnv&) = delete;
    StoreEnv& operator=(const StoreEnv&) = delete;

    bool available() const { return engine_ == Engine::sqlite || !conninfo_.empty(); }

    // `application_name`: PostgreSQL shows the connection under that name in pg_stat_activity
    // (a test can find it there, and end it).
    util::Result<std::unique_ptr<sql::Db>> db(const std::string& application_name = "") const {
        if (engine_ == Engine::sqlite) return sql::open_sqlite(dir_ + "/cases.db");
        return sql::open_postgresql(application_name.empty()
                                        ? conninfo_
                                        : conninfo_ + " application_name=" + application_name);
    }

    util::Result<std::unique_ptr<SqlCaseStore>> store(
        std::shared_ptr<const config::Config> c, const util::Clock& clock,
        const std::string& application_name = "") const {
        auto d = db(application_name);
        if (!d) return d.error();
        return SqlCaseStore::open(std::move(d).value(), std::move(c), clock);
    }

    Engine engine() const { return engine_; }

private:
    static int& counter() {
        static int n = 0;
        return n;
    }
    Engine engine_;
    std::string dir_;
    std::string schema_;
    std::string conninfo_;
};

inline void skip_loudly_without_postgresql() {
    static bool said = false;
    if (!said)
        std::fprintf(stderr,
                     "\n*** REFERENT_TEST_PG is not set: the PostgreSQL half of the case store "
                     "contract suite is SKIPPED (run under script/with-postgres) ***\n\n");
    said = true;
}

}  // namespace referent::cases::test
