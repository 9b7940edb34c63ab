// ops/check.hpp — load the configuration and everything it names that can be checked before
// the gateway runs: the YAML file itself, then the templates of organisation.language, loaded
// and rendered once with sample contexts (a missing file or an unknown variable is a
// configuration error, found at start rather than at the first citizen's message), then the
// reply-token key files of gateway.secret_files (present, long enough, mode 0600).
//
// Contract: load_checked() returns the Config, or every problem as one line each
// ("FILE:LINE:COL: path: reason" for the YAML, the template loader's own lines otherwise).
// check_config_command() prints them to `err` and returns 2, or prints "FILE: ok" to `out` and
// returns 0: the behaviour of `referentd --check-config` and `referentctl check-config`.
// Thread-compatible; call after mail::init() is possible (it calls it).
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace referent::ops {

struct Checked {
    std::optional<config::Config> config;  // set only when `problems` is empty
    std::vector<std::string> problems;
};

Checked load_checked(const std::string& path);
int check_config_command(const std::string& path, std::ostream& out, std::ostream& err);

}  // namespace referent::ops
