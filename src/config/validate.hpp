// config/validate.hpp — the checks that need the whole configuration at once.
//
// Contract: after every mapping has been read, validate() reports, at the position where the
// offending value was read: duplicate service ids, agent ids, case prefixes, listener
// address:port pairs and addresses (service addresses, agent emails and aliases share one
// namespace: mail to any of them must reach exactly one place); references to undefined
// agents (services[].agents, agents[].absences[].delegate) and self-delegation; a service
// address outside organisation.citizen_domain; addresses inside agent_domain or equal to a
// service address where mail would loop back into the gateway; and limits that contradict
// each other. Values that already failed their own syntax check are skipped where checking
// them again would only repeat the same mistake. No yaml-cpp here.
#pragma once

#include "config/config.hpp"
#include "config/report.hpp"

namespace referent::config {

void validate(const Config& config, Reporter& r);

}  // namespace referent::config
