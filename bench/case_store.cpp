// case_store_bench — the case store at the size of a large administration: N cases, K messages
// each, bulk-loaded with SQL, then p50/p99 of the threading lookup (find_thread on a
// References id) and of recording an inbound follow-up (record_inbound: lookup, insert, events,
// one durable commit), each over S samples on random cases.
//   case_store_bench --sqlite FILE | --postgresql CONNINFO [--cases N] [--per-case K]
//                    [--samples S]
// Prints one line per measure; bench/case_store.sh runs it on both engines.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "cases/sql_case_store.hpp"

using namespace referent;
using Clock = std::chrono::steady_clock;

namespace {

std::shared_ptr<config::Config> bench_config() {
    auto c = std::make_shared<config::Config>();
    c->organisation.holidays = "fr";
    config::Service s;
    s.id = "etat-civil";
    s.case_prefix = "EC";
    s.agents = {"marie", "paul"};
    c->services = {s};
    for (const char* id : {"marie", "paul"}) {
        config::Agent a;
        a.id = id;
        a.max_open_cases = 1'000'000;
        c->agents.push_back(a);
    }
    return c;
}

// Rows 1..N of a number sequence, in each engine's words.
std::string numbers(cases::sql::Engine e, long n) {
    return e == cases::sql::Engine::sqlite
               ? "WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < " +
                     std::to_string(n) + ") "
               : "WITH seq(i) AS (SELECT generate_series(1, " + std::to_string(n) + ")) ";
}

bool load(cases::sql::Db& db, long n_cases, long per_case) {
    const auto e = db.engine();
    const bool pg = e == cases::sql::Engine::postgresql;
    const std::string six =
        pg ? "lpad((i % 1000000)::text, 6, '0')" : "printf('%06d', i % 1000000)";
    const std::string year = pg ? "(2020 + i / 1000000)::text" : "(2020 + i / 1000000)";
    const long citizens = std::max(1L, n_cases / 2);  // two cases per citizen on average
    const std::string sql =
        "BEGIN;" + numbers(e, citizens) +
        "INSERT INTO citizens (address, address_key, name) SELECT 'c' || i || '@example.org', "
        "'c' || i || '@example.org', 'Citizen ' || i FROM seq;" +
        numbers(e, n_cases) +
        "INSERT INTO cases (number, service, citizen_id, referent, status, opened_at, due_on) "
        "SELECT 'EC-' || " +
        year + " || '-' || " + six + ", 'etat-civil', 1 + (i % " + std::to_string(citizens) +
        "), CASE WHEN i % 2 = 0 THEN 'marie' ELSE 'paul' END, "
        "CASE WHEN i % 10 = 0 THEN 'open' ELSE 'closed' END, 1700000000 + i, '2026-01-01' FROM "
        "seq;" +
        numbers(e, n_cases * per_case) +
        "INSERT INTO messages (case_id, direction, kind, spool_id, message_id, sender, subject, "
        "at) "
        "SELECT 1 + (i - 1) / " +
        std::to_string(per_case) +
        ", 'in', 'human', 'sp' || i, 'm' || "
        "i || '@example.org', 'c' || (1 + ((1 + (i - 1) / " +
        std::to_string(per_case) + ") % " + std::to_string(citizens) +
        ")) || '@example.org', 'Demande', 1700000000 + i FROM seq;"
        "COMMIT;" +
        (pg ? "ANALYZE;" : "ANALYZE;");
    util::Status s = db.script(sql);
    if (!s.ok()) std::fprintf(stderr, "load: %s\n", s.error().message.c_str());
    return s.ok();
}

void report(const char* what, std::vector<double>& us) {
    std::sort(us.begin(), us.end());
    auto at = [&](double q) {
        return us[static_cast<std::size_t>(q * static_cast<double>(us.size() - 1))];
    };
    std::printf("%-15s samples=%zu p50_us=%.0f p99_us=%.0f max_us=%.0f\n", what, us.size(), at(0.5),
                at(0.99), us.back());
}

}  // namespace

int main(int argc, char** argv) {
    std::string sqlite, pg;
    long n_cases = 1'000'000, per_case = 3, samples = 2000;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i], v = argv[i + 1];
        if (a == "--sqlite")
            sqlite = v;
        else if (a == "--postgresql")
            pg = v;
        else if (a == "--cases")
            n_cases = std::stol(v);
        else if (a == "--per-case")
            per_case = std::stol(v);
        else if (a == "--samples")
            samples = std::stol(v);
        else {
            std::fprintf(stderr, "unknown option %s\n", a.c_str());
            return 2;
        }
    }
    if (sqlite.empty() == pg.empty()) {
        std::fprintf(stderr, "usage: case_store_bench --sqlite FILE | --postgresql CONNINFO\n");
        return 2;
    }
    util::SystemClock clock;
    auto db = sqlite.empty() ? cases::sql::open_postgresql(pg) : cases::sql::open_sqlite(sqlite);
    if (!db) {
        std::fprintf(stderr, "%s\n", db.error().message.c_str());
        return 1;
    }
    auto store = cases::SqlCaseStore::open(std::move(db).value(), bench_config(), clock);
    if (!store) {
        std::fprintf(stderr, "%s\n", store.error().message.c_str());
        return 1;
    }
    const auto t0 = Clock::now();
    if (!load((*store)->db(), n_cases, per_case)) return 1;
    const double load_s = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf("engine=%s cases=%ld messages=%ld load_s=%.1f\n",
                sqlite.empty() ? "postgresql" : "sqlite", n_cases, n_cases * per_case, load_s);

    std::mt19937_64 rng(42);
    std::uniform_int_distribution<long> pick(1, n_cases * per_case);
    const long citizens = std::max(1L, n_cases / 2);
    auto keys_for = [&](long m) {
        cases::ThreadKeys k;
        const long case_id = 1 + (m - 1) / per_case;
        k.references = {"m" + std::to_string(m) + "@example.org"};
        k.sender = "c" + std::to_string(1 + (case_id % citizens)) + "@example.org";
        return k;
    };
    std::vector<double> lookup, record;
    for (long i = 0; i < samples; ++i) {
        cases::ThreadKeys k = keys_for(pick(rng));
        const auto a = Clock::now();
        auto d = (*store)->find_thread(k);
        lookup.push_back(std::chrono::duration<double, std::micro>(Clock::now() - a).count());
        if (!d || d->rule != cases::ThreadRule::reference) {
            std::fprintf(stderr, "lookup did not thread: %s\n",
                         d ? d->reason.c_str() : d.error().message.c_str());
            return 1;
        }
    }
    for (long i = 0; i < samples; ++i) {
        cases::InboundRequest r;
        r.spool_id = "bench-" + std::to_string(i);
        r.service = "etat-civil";
        r.keys = keys_for(pick(rng));
        r.message_id = r.spool_id + "@example.org";
        r.subject = "Re: Demande";
        r.kind = "human";
        r.raw = std::string(4096, 'x');
        const auto a = Clock::now();
        auto o = (*store)->record_inbound(r);
        record.push_back(std::chrono::duration<double, std::micro>(Clock::now() - a).count());
        if (!o || o->rule != cases::ThreadRule::reference) {
            std::fprintf(stderr, "record failed: %s\n",
                         o ? o->reason.c_str() : o.error().message.c_str());
            return 1;
        }
    }
    report("find_thread", lookup);
    report("record_inbound", record);
    return 0;
}
