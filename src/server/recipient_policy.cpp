#include "server/recipient_policy.hpp"

#include <cstdio>
#include <cstdlib>
#include <utility>

namespace referent::server {

namespace {

std::string_view local_of(std::string_view address) {
    std::size_t at = address.rfind('@');
    return at == std::string_view::npos ? address : address.substr(0, at);
}

smtp::Reply unavailable() {
    return {550, "5.1.1", "Error: mailbox unavailable"};
}

}  // namespace

bool token_form(std::string_view token) {
    if (token.empty() || token.size() > 63) return false;
    for (char c : token) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7');
        if (!ok) return false;
    }
    return true;
}

RecipientPolicy::RecipientPolicy(const config::Config& config, config::Role role,
                                 TokenCheck check_token)
    : role_(role),
      citizen_domain_(config.organisation.citizen_domain),
      agent_domain_(config.organisation.agent_domain),
      check_token_(std::move(check_token)) {
    if (!check_token_) {
        std::fprintf(stderr, "fatal: RecipientPolicy without a token check\n");
        std::abort();
    }
    for (const auto& s : config.services) service_locals_.emplace_back(local_of(s.address));
}

bool RecipientPolicy::token_ok(std::string_view token) const {
    return token_form(token) && check_token_(token, role_);
}

std::optional<smtp::Reply> RecipientPolicy::check(const smtp::Address& rcpt) const {
    const std::string& local = rcpt.local;
    if (local.empty() || local.front() == '"') return unavailable();
    std::size_t plus = local.find('+');
    std::string_view base = std::string_view(local).substr(0, plus);
    std::string_view token =
        plus == std::string::npos ? std::string_view{} : std::string_view(local).substr(plus + 1);

    if (role_ == config::Role::public_) {
        if (!smtp::iequals(rcpt.domain, citizen_domain_)) return unavailable();
        bool service = false;
        for (const auto& s : service_locals_) service = service || smtp::iequals(base, s);
        if (!service) return unavailable();
        if (plus != std::string::npos && !token_ok(token)) return unavailable();
        return std::nullopt;
    }
    if (!smtp::iequals(rcpt.domain, agent_domain_)) return unavailable();
    if (base.empty() || plus == std::string::npos || !token_ok(token)) return unavailable();
    return std::nullopt;
}

}  // namespace referent::server
