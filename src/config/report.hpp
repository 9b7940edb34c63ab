// config/report.hpp — collects configuration diagnostics and remembers where each value was read.
//
// Contract: the loader reports every problem through a Reporter instead of stopping at the
// first, so one run shows the operator the whole list. Positions are 1-based (the yaml-cpp
// reader converts). remember()/where() let checks that run after parsing (duplicates,
// references) point at the YAML line of the value they blame, without seeing yaml-cpp.
// Internal to config/; not thread-safe (one Reporter per load).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/load.hpp"

namespace referent::config {

struct Pos {
    int line = 0;  // 1-based; 0 = no position
    int column = 0;
};

class Reporter {
public:
    explicit Reporter(std::string file) : file_(std::move(file)) {}

    void error(Pos pos, std::string path, std::string reason);
    void remember(const std::string& path, Pos pos) { positions_[path] = pos; }
    bool knows(std::string_view path) const { return positions_.find(path) != positions_.end(); }
    // Position of `path`, or of its nearest remembered ancestor ("a.b[2].c" → "a.b[2]" → "a.b").
    Pos where(std::string_view path) const;

    bool has_errors() const { return !diagnostics_.empty(); }
    const std::string& file() const { return file_; }
    // Diagnostics ordered by position (stable), as an operator reads the file top to bottom.
    std::vector<Diagnostic> take_sorted();

private:
    std::string file_;
    std::vector<Diagnostic> diagnostics_;
    std::map<std::string, Pos, std::less<>> positions_;
};

// `value` between double quotes, control characters escaped and long values cut, so a
// diagnostic that echoes configuration text stays on one line of the operator's terminal.
std::string quoted(std::string_view value);
// A map key as it appears inside a path: control characters escaped for the same reason.
std::string path_key(std::string_view key);
// "a.b[2].c" → "a.b[2]" → "a.b" → "a" → "".
std::string_view parent_path(std::string_view path);

}  // namespace referent::config
