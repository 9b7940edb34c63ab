// config/syntax.cpp — see syntax.hpp.
#include "config/syntax.hpp"

#include "config/cat.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace referent::config {

namespace {

constexpr std::size_t kMaxLocal = 64;    // RFC 5321 §4.5.3.1.1
constexpr std::size_t kMaxDomain = 255;  // RFC 5321 §4.5.3.1.2
constexpr std::size_t kMaxLabel = 63;    // RFC 1035 §2.3.4
constexpr std::size_t kMaxId = 64;

bool is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_ldh(char c) {
    return is_alpha(c) || is_digit(c) || c == '-';
}

// RFC 5322 atext, plus the UTF-8 octets RFC 6531 allows in an internationalised local part.
bool is_atext(char c) {
    return is_alpha(c) || is_digit(c) || static_cast<unsigned char>(c) >= 0x80 ||
           std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr;
}

std::string shown(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) return cat("byte ", std::to_string(u));
    return cat("'", std::string_view(&c, 1), "'");
}

// Why `s` is not an LDH domain name, in a few words, or nothing.
Problem domain_problem(std::string_view s) {
    if (s.empty()) return "is empty";
    if (s.size() > kMaxDomain) return "is longer than 255 octets";
    if (s.back() == '.') return "ends with a dot";
    std::size_t start = 0;
    bool all_digits = true;
    while (start <= s.size()) {
        const auto end = std::min(s.find('.', start), s.size());
        const auto label = s.substr(start, end - start);
        if (label.empty()) return "has an empty label";
        if (label.size() > kMaxLabel) return "has a label longer than 63 octets";
        if (label.front() == '-' || label.back() == '-')
            return "has a label starting or ending with '-'";
        all_digits = true;
        for (char c : label) {
            if (!is_ldh(c)) return cat("contains ", shown(c));
            all_digits = all_digits && is_digit(c);
        }
        start = end + 1;
    }
    if (all_digits) return "ends with a numeric label";
    return std::nullopt;
}

Problem local_part_problem(std::string_view local) {
    if (local.empty()) return "the local part is empty";
    if (local.size() > kMaxLocal) return "the local part is longer than 64 octets";
    if (local.front() == '.' || local.back() == '.' || local.find("..") != local.npos)
        return "the local part has a misplaced dot";
    for (char c : local)
        if (c != '.' && !is_atext(c)) return cat("the local part contains ", shown(c));
    return std::nullopt;
}

Problem port_problem(std::string_view port) {
    if (port.empty() || port.size() > 5) return "has no valid port";
    unsigned value = 0;
    for (char c : port) {
        if (!is_digit(c)) return "has no valid port";
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value > 65535) return "has a port above 65535";
    return std::nullopt;
}

// "host", "host:port", "[v6]" or "[v6]:port"; `port_required` for listen endpoints.
Problem authority_problem(std::string_view a, bool port_required) {
    std::string_view host = a;
    std::string_view port;
    bool has_port = false;
    if (!a.empty() && a.front() == '[') {
        const auto close = a.find(']');
        if (close == a.npos) return "has an unclosed '['";
        host = a.substr(1, close - 1);
        if (!canonical_ip(host)) return "has an invalid IPv6 literal";
        has_port = close + 1 < a.size();
        if (has_port && a[close + 1] != ':') return "has text after ']'";
        if (has_port) port = a.substr(close + 2);
    } else {
        const auto colon = a.rfind(':');
        has_port = colon != a.npos;
        host = a.substr(0, has_port ? colon : a.size());
        if (has_port) port = a.substr(colon + 1);
        if (host.find(':') != a.npos) return "has an IPv6 address outside [ ]";
        if (!canonical_ip(host) && domain_problem(host)) return "has an invalid host";
    }
    if (has_port) return port_problem(port);
    if (port_required) return "has no port";
    return std::nullopt;
}

}  // namespace

Problem check_not_empty(std::string_view s) {
    if (s.empty()) return "must not be empty";
    return std::nullopt;
}

Problem check_email(std::string_view s) {
    const auto at = s.rfind('@');
    if (at == s.npos) return "is not a valid email address: no '@'";
    if (auto p = local_part_problem(s.substr(0, at))) return "is not a valid email address: " + *p;
    if (auto p = domain_problem(s.substr(at + 1)))
        return "is not a valid email address: the domain " + *p;
    return std::nullopt;
}

Problem check_domain(std::string_view s) {
    if (auto p = domain_problem(s)) return "is not a valid domain name: it " + *p;
    return std::nullopt;
}

Problem check_hostname(std::string_view s) {
    if (auto p = domain_problem(s)) return "is not a valid host name: it " + *p;
    return std::nullopt;
}

Problem check_ip_literal(std::string_view s) {
    if (!canonical_ip(s)) return "must be an IPv4 or IPv6 address literal";
    return std::nullopt;
}

Problem check_id(std::string_view s) {
    if (s.empty()) return "must not be empty";
    if (s.size() > kMaxId) return "must be at most 64 characters";
    if (!(is_digit(s[0]) || (s[0] >= 'a' && s[0] <= 'z')))
        return "must start with a lower-case letter or a digit";
    for (char c : s)
        if (!(is_digit(c) || (c >= 'a' && c <= 'z') || c == '.' || c == '_' || c == '-'))
            return cat("may contain only a-z, 0-9, '.', '_' and '-' (found ", shown(c), ")");
    return std::nullopt;
}

Problem check_case_prefix(std::string_view s) {
    const char* rule = "must be 1 to 8 upper-case letters or digits, starting with a letter";
    if (s.empty() || s.size() > 8 || !(s[0] >= 'A' && s[0] <= 'Z')) return rule;
    for (char c : s)
        if (!((c >= 'A' && c <= 'Z') || is_digit(c))) return rule;
    return std::nullopt;
}

Problem check_relay_url(std::string_view s) {
    const std::string l = lower(s.substr(0, 8));
    std::size_t skip = l.starts_with("smtp://") ? 7 : l.starts_with("smtps://") ? 8 : 0;
    if (skip == 0) return "must start with smtp:// or smtps://";
    const auto rest = s.substr(skip);
    const auto authority = rest.substr(0, rest.find('/'));
    if (authority.find('@') != authority.npos)
        return "must not hold credentials: use relay.username and relay.password_file";
    if (authority.empty()) return "has no host";
    if (auto p = authority_problem(authority, false)) return "is not a valid URL: it " + *p;
    return std::nullopt;
}

Problem check_listen_endpoint(std::string_view s) {
    if (s.empty()) return std::nullopt;
    if (auto p = authority_problem(s, true)) return "must be host:port or \"\": it " + *p;
    return std::nullopt;
}

Problem check_authserv_id(std::string_view s) {
    if (s.empty()) return "must not be empty";
    for (char c : s)
        if (c == ' ' || c == '\t' || c == ';') return "must not contain spaces or ';'";
    return std::nullopt;
}

std::optional<std::string> canonical_ip(std::string_view s) {
    const std::string text(s);
    std::array<unsigned char, 16> bytes{};
    char out[INET6_ADDRSTRLEN] = {};
    for (int family : {AF_INET, AF_INET6})
        if (inet_pton(family, text.c_str(), bytes.data()) == 1 &&
            inet_ntop(family, bytes.data(), out, sizeof out) != nullptr)
            return std::string(out);
    return std::nullopt;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

std::string domain_of(std::string_view email) {
    const auto at = email.rfind('@');
    return at == email.npos ? std::string() : lower(email.substr(at + 1));
}

}  // namespace referent::config
