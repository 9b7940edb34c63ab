// server/recipient_policy.hpp — which RCPT TO addresses a listener accepts.
//
// Contract: the gateway is never an open relay. A `public` listener accepts, in
// organisation.citizen_domain, a service's address and that address with a subaddress
// "<service-local>+<token>" (citizens' replies and bounces to VERP senders); an `internal`
// listener accepts, in organisation.agent_domain, "<local>+<token>" (agents' reply addresses).
// A token must have the form (1 to 63 base32 characters [a-z2-7], in either case: some MTAs
// fold case) and pass the TokenCheck given at construction, asked with the listener's role:
// the check verifies the signature and that the token's purpose belongs on that listener
// (the server knows nothing of keys or purposes; the composition root supplies both).
// Everything else — a malformed, forged or truncated token, one of the wrong purpose — gets
// 550 5.1.1 with one wording, so the refusal tells nothing about which part was wrong.
// Domains and service local parts compare case-insensitively. Immutable; thread-safe when the
// TokenCheck is.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "smtp/address.hpp"
#include "smtp/reply.hpp"

namespace referent::server {

// True when `token` is a valid token for a listener of `role`. Never called with a token that
// fails token_form().
using TokenCheck = std::function<bool(std::string_view token, config::Role role)>;

class RecipientPolicy {
public:
    // `check_token` must be callable (an empty one is a bug: abort).
    RecipientPolicy(const config::Config& config, config::Role role, TokenCheck check_token);

    std::optional<smtp::Reply> check(const smtp::Address& rcpt) const;

private:
    bool token_ok(std::string_view token) const;

    config::Role role_;
    std::string citizen_domain_;
    std::string agent_domain_;
    std::vector<std::string> service_locals_;
    TokenCheck check_token_;
};

// True when `token` has the form of a reply token (base32, 1–63 characters).
bool token_form(std::string_view token);

}  // namespace referent::server
