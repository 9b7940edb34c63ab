// config/report.cpp — see report.hpp.
#include "config/report.hpp"

#include <algorithm>
#include <cstdio>
#include <utility>

namespace referent::config {

namespace {

constexpr std::size_t kMaxEcho = 64;  // longer values are cut: the line number locates them

std::string escaped(std::string_view text) {
    std::string out;
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '\r') {
            out += "\\r";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (u < 0x20 || u == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", u);
            out += buf;
        } else {
            out += c;
        }
    }
    return out;
}

}  // namespace

// Appends rather than `"lit" + std::string`: GCC 12 at -O2 flags the latter with a false
// -Wrestrict (GCC PR 105651), and warnings are errors.
std::string Diagnostic::to_string() const {
    std::string out = file;
    if (line > 0) {
        out += ':';
        out += std::to_string(line);
        out += ':';
        out += std::to_string(column);
    }
    out += ": ";
    if (!path.empty()) {
        out += path;
        out += ": ";
    }
    out += reason;
    return out;
}

void Reporter::error(Pos pos, std::string path, std::string reason) {
    diagnostics_.push_back({file_, pos.line, pos.column, std::move(path), std::move(reason)});
}

Pos Reporter::where(std::string_view path) const {
    for (;;) {
        if (auto it = positions_.find(path); it != positions_.end()) return it->second;
        if (path.empty()) return Pos{1, 1};
        path = parent_path(path);
    }
}

std::vector<Diagnostic> Reporter::take_sorted() {
    std::stable_sort(diagnostics_.begin(), diagnostics_.end(),
                     [](const Diagnostic& a, const Diagnostic& b) {
                         return std::pair(a.line, a.column) < std::pair(b.line, b.column);
                     });
    return std::move(diagnostics_);
}

std::string quoted(std::string_view value) {
    std::string out = "\"";  // appends: see Diagnostic::to_string
    out += escaped(value.substr(0, kMaxEcho));
    out += value.size() > kMaxEcho ? "…\"" : "\"";
    return out;
}

std::string path_key(std::string_view key) {
    return escaped(key);
}

std::string_view parent_path(std::string_view path) {
    const auto cut = path.find_last_of(".[");
    return cut == std::string_view::npos ? std::string_view{} : path.substr(0, cut);
}

}  // namespace referent::config
