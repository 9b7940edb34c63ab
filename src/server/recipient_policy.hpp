// server/recipient_policy.hpp — which RCPT TO addresses a listener accepts.
//
// Contract: the gateway is never an open relay. A `public` listener accepts, in
// organisation.citizen_domain, a service's address and that address with a subaddress
// "<service-local>+<token>" (citizens' replies and bounces to VERP senders); an `internal`
// listener accepts, in organisation.agent_domain, "<local>+<token>" (agents' reply addresses).
// A token is 1 to 63 base32 characters [a-z2-7], in either case (some MTAs fold case). Until
// the cases layer verifies tokens, only their form is checked. Everything else gets
// 550 5.1.1 with one wording, so the refusal tells nothing about which part was wrong.
// Domains and service local parts compare case-insensitively. Immutable, thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "smtp/address.hpp"
#include "smtp/reply.hpp"

namespace referent::server {

class RecipientPolicy {
public:
    RecipientPolicy(const config::Config& config, config::Role role);

    std::optional<smtp::Reply> check(const smtp::Address& rcpt) const;

private:
    config::Role role_;
    std::string citizen_domain_;
    std::string agent_domain_;
    std::vector<std::string> service_locals_;
};

// True when `token` has the form of a reply token (base32, 1–63 characters).
bool token_form(std::string_view token);

}  // namespace referent::server
