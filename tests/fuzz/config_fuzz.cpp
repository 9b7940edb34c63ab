// libFuzzer target: arbitrary bytes as referent.yaml, through config::load_string.
// A refusal carries at least one diagnostic, each one line "FILE:LINE:COL: message" with a
// position inside the file, in file order; loading twice gives the same lines. An accepted
// configuration holds no CR, LF or NUL in any string (they would split the headers and
// commands those strings are written into) and its cross-key bounds hold.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/load.hpp"

namespace {

using namespace referent::config;

void check(bool ok) {
    if (!ok) std::abort();
}

bool clean(std::string_view s) {
    return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

void check_clean(const std::string& s) {
    check(clean(s));
}
void check_clean(const std::optional<std::string>& s) {
    if (s) check(clean(*s));
}
void check_clean(const std::vector<std::string>& v) {
    for (const std::string& s : v) check(clean(s));
}

void check_config(const Config& c) {
    const Gateway& g = c.gateway;
    check_clean(g.hostname);
    check(!g.listen.empty());
    for (const Listen& l : g.listen) check_clean(l.address);
    if (g.tls) {
        check_clean(g.tls->certificate);
        check_clean(g.tls->key);
    }
    check_clean(g.trusted_authserv_ids);
    check_clean(g.secret_files);
    check_clean(g.spool);
    check(g.limits.max_connections_per_ip <= g.limits.max_connections);
    check(g.limits.max_header_size <= g.limits.max_message_size);
    check_clean(c.store.sqlite);
    check_clean(c.store.postgresql);
    check(c.store.sqlite.has_value() != c.store.postgresql.has_value());
    check_clean(c.relay.url);
    check_clean(c.relay.username);
    check_clean(c.relay.password_file);
    check_clean(c.relay.maildir);
    check(c.relay.url.has_value() != c.relay.maildir.has_value());
    check(!c.relay.retry.empty());
    const Organisation& o = c.organisation;
    for (const std::string* s : {&o.name, &o.postal_address, &o.language, &o.citizen_domain,
                                 &o.agent_domain, &o.from_format, &o.holidays, &o.templates})
        check_clean(*s);
    check(!c.services.empty() && !c.agents.empty());
    for (const Service& s : c.services) {
        for (const std::string* v : {&s.id, &s.name, &s.address, &s.case_prefix}) check_clean(*v);
        check_clean(s.manager);
        check_clean(s.fallback);
        check_clean(s.agents);
        for (const std::string& id : s.agents) check(c.find_agent(id) != nullptr);
    }
    for (const Agent& a : c.agents) {
        for (const std::string* v : {&a.id, &a.name, &a.title, &a.email, &a.phone, &a.hours})
            check_clean(*v);
        check_clean(a.aliases);
        for (const Absence& ab : a.absences) {
            check(!(ab.to < ab.from));
            check_clean(ab.delegate);
        }
    }
    check_clean(c.ops.metrics_listen);
}

std::vector<std::string> printed(const LoadResult& r) {
    std::vector<std::string> out;
    if (r.ok()) return out;
    for (const Diagnostic& d : r.diagnostics()) out.push_back(d.to_string());
    return out;
}

void check_diagnostics(const LoadResult& r, std::string_view yaml) {
    const std::vector<Diagnostic>& all = r.diagnostics();
    check(!all.empty());
    // yaml-cpp may place an end-of-input mark one line past the last newline.
    const auto lines = static_cast<int>(std::count(yaml.begin(), yaml.end(), '\n')) + 2;
    int prev_line = 0, prev_column = 0;
    for (const Diagnostic& d : all) {
        check(d.line >= 1 && d.line <= lines && d.column >= 1);
        check(d.line > prev_line || (d.line == prev_line && d.column >= prev_column));
        prev_line = d.line;
        prev_column = d.column;
        check(!d.reason.empty());
        const std::string text = d.to_string();
        const std::string head =
            "f.yaml:" + std::to_string(d.line) + ":" + std::to_string(d.column) + ": ";
        check(text.starts_with(head) && text.size() > head.size());
        for (char ch : text) check(ch != '\r' && ch != '\n' && ch != '\0');
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string yaml(reinterpret_cast<const char*>(data), size);
    const LoadResult first = load_string(yaml, "f.yaml");
    if (first.ok())
        check_config(first.config());
    else
        check_diagnostics(first, yaml);
    const LoadResult second = load_string(yaml, "f.yaml");
    check(second.ok() == first.ok() && printed(second) == printed(first));
    return 0;
}
