// ops/session.hpp — what referentctl's store commands share: arguments, and the store.
//
// Contract: Args splits a command's arguments into flags ("--json", "--help"), options with a
// value ("--service S") and positionals, refusing an option it was not told of (usage error).
// open_store() loads and checks the configuration (as check-config) and opens the store it
// names (SQLite or PostgreSQL, migrated), safe while referentd runs: the engine arbitrates.
// Exit codes, everywhere: 0 done, 1 the store or the spool cannot be used (try again), 2 a
// usage or configuration error, or a request the store refuses (unknown case, bad dates).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "cases/case_store.hpp"
#include "config/config.hpp"
#include "util/clock.hpp"

namespace referent::ops {

struct Args {
    std::set<std::string> flags;
    std::map<std::string, std::string> options;
    std::vector<std::string> positional;
    std::string error;  // set when the arguments do not parse

    // `flags`: allowed flags; `options`: allowed options taking a value.
    static Args parse(const std::vector<std::string>& args, const std::set<std::string>& flags,
                      const std::set<std::string>& options);
    bool has(const std::string& flag) const { return flags.count(flag) != 0; }
    std::optional<std::string> option(const std::string& name) const;
};

struct StoreSession {
    std::shared_ptr<const config::Config> config;
    util::SystemClock clock;
    std::unique_ptr<cases::CaseStore> store;
};

// Null with the exit code in `rc` (and the reason on `err`) when it cannot be opened.
std::unique_ptr<StoreSession> open_store(const std::string& config_path, const char* command,
                                         std::ostream& err, int& rc);

// The exit code for a store error: 1 temporary (busy, unreachable), 2 refused.
int store_error(const util::Error& e, const char* command, std::ostream& err);

}  // namespace referent::ops
