// config/load.hpp — read, parse and validate the YAML configuration.
//
// Contract: load() returns a fully validated Config, or every problem found in the file (not
// just the first), each as "FILE:LINE:COL: path.to.key: reason" with 1-based line and column,
// sorted by position. Two shapes have less: a problem of the whole document (YAML syntax
// error, empty file, several documents, a raw NUL octet) has no path, "FILE:LINE:COL: reason";
// a file that cannot be read (missing, a directory, over 16MiB) has no position either (line
// and column 0), "FILE: reason". Diagnostics are single lines: echoed text is escaped.
// It never throws: yaml-cpp exceptions are caught here. Thread-compatible (no shared state).
// Units: sizes accept B, KiB, MiB, GiB, TiB (and a bare number of octets); durations accept
// s, m, h, d (and a bare number of seconds). The rules and ranges of every key are documented
// in config/referent.yaml.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "config/config.hpp"

namespace referent::config {

struct Diagnostic {
    std::string file;
    int line = 0;                   // 1-based; 0 when the problem has no position (file unreadable)
    int column = 0;                 // 1-based
    std::string path;               // "gateway.limits.max_recipients"; "" for the whole document
    std::string reason;             // "must be between 1 and 100000"
    std::string to_string() const;  // "FILE:LINE:COL: path: reason"
};

struct LoadResult {
    std::variant<Config, std::vector<Diagnostic>> value;
    bool ok() const { return value.index() == 0; }
    const Config& config() const { return std::get<0>(value); }
    Config& config() { return std::get<0>(value); }
    const std::vector<Diagnostic>& diagnostics() const { return std::get<1>(value); }
};

LoadResult load_file(const std::string& path);
// Parse from memory; `file` is only used in diagnostics.
LoadResult load_string(const std::string& yaml, const std::string& file);

}  // namespace referent::config
