// config/check.hpp — the "check-config" command shared by referentd and referentctl.
//
// Contract: loads `path` and prints every diagnostic, one "FILE:LINE:COL: path: reason" line
// each (or "FILE: reason" when the file cannot be read), to `err`, returning 2 (the exit code
// of a configuration error); or prints "FILE: ok" to `out` and returns 0. Never throws on a
// bad file; thread-compatible.
#pragma once

#include <ostream>
#include <string>

namespace referent::config {

int check_config_command(const std::string& path, std::ostream& out, std::ostream& err);

}  // namespace referent::config
