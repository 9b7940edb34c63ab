// config/syntax.hpp — syntax checks for the strings of the configuration.
//
// Contract: each check_* takes one string and returns nothing when it is valid, or the reason
// it is not, worded to follow "path: " in a diagnostic. They check form only (no DNS, no
// filesystem). Deliberate limits, documented in config/referent.yaml:
//   - email: addr-spec with a dot-atom local part (no quoted strings) of at most 64 octets;
//     UTF-8 octets are allowed in the local part (RFC 6531); the domain follows check_domain.
//   - domain / host name: LDH labels of 1 to 63 octets, at most 255 octets, no trailing dot, a
//     last label that is not all digits (so an IPv4 literal is not taken for a name). IDNs are
//     written in their ASCII (xn--) form.
//   - ids: [a-z0-9][a-z0-9._-]*, at most 64 octets; case prefixes: [A-Z][A-Z0-9]{0,7}.
// Pure functions, thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace referent::config {

using Problem = std::optional<std::string>;

Problem check_not_empty(std::string_view s);
Problem check_email(std::string_view s);
Problem check_domain(std::string_view s);
Problem check_hostname(std::string_view s);
Problem check_ip_literal(std::string_view s);
Problem check_id(std::string_view s);
Problem check_case_prefix(std::string_view s);
Problem check_relay_url(std::string_view s);        // smtp[s]://host[:port][/...], no credentials
Problem check_listen_endpoint(std::string_view s);  // "" (disabled) or host:port, [v6]:port
Problem check_authserv_id(std::string_view s);      // a token: no space, no ';'

// The canonical form of an IP literal (so "::1" and "0:0::1" compare equal), if it is one.
std::optional<std::string> canonical_ip(std::string_view s);
// ASCII lower case: domains and, in practice, local parts compare without case.
std::string lower(std::string_view s);
// The domain of an address, lower-cased ("" when there is no '@').
std::string domain_of(std::string_view email);

}  // namespace referent::config
