// config/validate.cpp — see validate.hpp.
#include "config/validate.hpp"

#include <map>
#include <set>

#include "config/cat.hpp"
#include "config/syntax.hpp"
#include "config/units.hpp"

namespace referent::config {

namespace {

std::string at(const std::string& list, std::size_t i, const char* key = nullptr) {
    std::string path = cat(list, "[", std::to_string(i), "]");
    return key ? cat(path, ".", key) : path;
}

void error(Reporter& r, const std::string& path, std::string reason) {
    r.error(r.where(path), path, std::move(reason));
}

// The first path holding each key; a later holder is reported as a duplicate.
class Unique {
public:
    Unique(Reporter& r, std::string what) : r_(r), what_(std::move(what)) {}

    void add(const std::string& key, const std::string& path, std::string_view shown) {
        if (key.empty()) return;  // absent or already reported
        auto [first, inserted] = first_.emplace(key, path);
        if (inserted) return;
        error(r_, path,
              "duplicate " + what_ + " " + quoted(shown) + " (first at " + first->second +
                  ", line " + std::to_string(r_.where(first->second).line) + ")");
    }

private:
    Reporter& r_;
    std::string what_;
    std::map<std::string, std::string> first_;
};

void unique_ids(const Config& c, Reporter& r) {
    Unique services(r, "service id"), prefixes(r, "case prefix"), agents(r, "agent id");
    for (std::size_t i = 0; i < c.services.size(); ++i) {
        services.add(c.services[i].id, at("services", i, "id"), c.services[i].id);
        prefixes.add(c.services[i].case_prefix, at("services", i, "case_prefix"),
                     c.services[i].case_prefix);
    }
    for (std::size_t i = 0; i < c.agents.size(); ++i)
        agents.add(c.agents[i].id, at("agents", i, "id"), c.agents[i].id);
}

void unique_addresses(const Config& c, Reporter& r) {
    Unique addresses(r, "address");
    for (std::size_t i = 0; i < c.services.size(); ++i)
        addresses.add(lower(c.services[i].address), at("services", i, "address"),
                      c.services[i].address);
    for (std::size_t i = 0; i < c.agents.size(); ++i) {
        const Agent& a = c.agents[i];
        addresses.add(lower(a.email), at("agents", i, "email"), a.email);
        for (std::size_t j = 0; j < a.aliases.size(); ++j)
            addresses.add(lower(a.aliases[j]), at(at("agents", i, "aliases"), j), a.aliases[j]);
    }
}

void unique_listeners(const Config& c, Reporter& r) {
    Unique listeners(r, "listener");
    for (std::size_t i = 0; i < c.gateway.listen.size(); ++i) {
        const Listen& l = c.gateway.listen[i];
        auto ip = canonical_ip(l.address);
        if (!ip || l.port == 0) continue;  // port 0: each listener gets its own free port
        const std::string shown = (ip->find(':') != std::string::npos ? "[" + *ip + "]" : *ip) +
                                  ":" + std::to_string(l.port);
        listeners.add(shown, at("gateway.listen", i), shown);
    }
}

void agent_references(const Config& c, Reporter& r) {
    std::set<std::string> known;
    for (const Agent& a : c.agents) known.insert(a.id);
    for (std::size_t i = 0; i < c.services.size(); ++i) {
        Unique listed(r, "agent");
        const auto& ids = c.services[i].agents;
        for (std::size_t j = 0; j < ids.size(); ++j) {
            const std::string path = at(at("services", i, "agents"), j);
            if (!ids[j].empty() && !known.count(ids[j]))
                error(r, path, cat("unknown agent ", quoted(ids[j])));
            listed.add(ids[j], path, ids[j]);
        }
    }
    for (std::size_t i = 0; i < c.agents.size(); ++i) {
        const Agent& a = c.agents[i];
        for (std::size_t j = 0; j < a.absences.size(); ++j) {
            const std::string& d = a.absences[j].delegate;
            const std::string path = at(at("agents", i, "absences"), j) + ".delegate";
            if (d.empty()) continue;
            if (!known.count(d)) error(r, path, cat("unknown agent ", quoted(d)));
            if (d == a.id) error(r, path, "an agent cannot be their own delegate");
        }
    }
}

// Mail sent to an agent's or a manager's mailbox must leave the gateway, not come back into it
// through an address the gateway itself answers for.
void outside_gateway(const Config& c, Reporter& r, const std::set<std::string>& services,
                     const std::string& address, const std::string& path) {
    if (check_email(address)) return;  // reported where it was read
    const std::string& agent_domain = c.organisation.agent_domain;
    if (!check_domain(agent_domain) && domain_of(address) == lower(agent_domain))
        error(r, path,
              "must not be in organisation.agent_domain (" + agent_domain +
                  "): mail to it would loop back into the gateway");
    else if (services.count(lower(address)))  // agents' addresses: reported as duplicates
        error(r, path, "must not be a service address: mail to it would loop back");
}

void domains(const Config& c, Reporter& r) {
    const Organisation& o = c.organisation;
    if (!check_domain(o.citizen_domain) && lower(o.citizen_domain) == lower(o.agent_domain))
        error(r, "organisation.agent_domain", "must differ from organisation.citizen_domain");
    std::set<std::string> services;
    for (std::size_t i = 0; i < c.services.size(); ++i) {
        const Service& s = c.services[i];
        services.insert(lower(s.address));
        if (!check_email(s.address) && !check_domain(o.citizen_domain) &&
            domain_of(s.address) != lower(o.citizen_domain))
            error(r, at("services", i, "address"),
                  "must be in organisation.citizen_domain (" + o.citizen_domain + ")");
    }
    for (std::size_t i = 0; i < c.services.size(); ++i) {
        const Service& s = c.services[i];
        if (s.manager) outside_gateway(c, r, services, *s.manager, at("services", i, "manager"));
        if (s.fallback) outside_gateway(c, r, services, *s.fallback, at("services", i, "fallback"));
    }
    const std::set<std::string> none;  // agents' addresses equal to a service's are duplicates
    for (std::size_t i = 0; i < c.agents.size(); ++i) {
        const Agent& a = c.agents[i];
        outside_gateway(c, r, none, a.email, at("agents", i, "email"));
        for (std::size_t j = 0; j < a.aliases.size(); ++j)
            outside_gateway(c, r, none, a.aliases[j], at(at("agents", i, "aliases"), j));
    }
}

using Format = std::string (*)(std::uint64_t);
std::string number(std::uint64_t v) {
    return std::to_string(v);
}

// `low` must not exceed `high`. Blame the one the operator wrote: the other may be a default.
void not_above(Reporter& r, const std::string& low_path, std::uint64_t low,
               const std::string& high_path, std::uint64_t high, Format format) {
    if (low <= high) return;
    if (r.knows(low_path) || !r.knows(high_path))
        error(r, low_path, cat("must not exceed ", high_path, " (", format(high), ")"));
    else
        error(r, high_path, cat("must be at least ", low_path, " (", format(low), ")"));
}

void consistent_limits(const Config& c, Reporter& r) {
    const Limits& l = c.gateway.limits;
    const std::string p = "gateway.limits.";
    not_above(r, p + "max_connections_per_ip", l.max_connections_per_ip, p + "max_connections",
              l.max_connections, number);
    not_above(r, p + "max_header_size", l.max_header_size, p + "max_message_size",
              l.max_message_size, format_size);
    for (std::size_t i = 0; i < c.services.size(); ++i)  // a deleted case cannot be reopened
        not_above(r, at("services", i, "reopen_days"), c.services[i].reopen_days,
                  at("services", i, "retention_days"), c.services[i].retention_days, number);
}

}  // namespace

void validate(const Config& config, Reporter& r) {
    unique_ids(config, r);
    unique_addresses(config, r);
    unique_listeners(config, r);
    agent_references(config, r);
    domains(config, r);
    consistent_limits(config, r);
}

}  // namespace referent::config
