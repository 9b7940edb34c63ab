#include "smtp/address.hpp"

#include <arpa/inet.h>

#include <cstdint>

namespace referent::smtp {

namespace {

constexpr std::size_t max_local = 64;
constexpr std::size_t max_domain = 255;
constexpr std::size_t max_label = 63;

bool is_alpha(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(unsigned char c) {
    return c >= '0' && c <= '9';
}

bool is_atext(unsigned char c, bool utf8) {
    if (is_alpha(c) || is_digit(c)) return true;
    if (c >= 0x80) return utf8;
    switch (c) {
        case '!':
        case '#':
        case '$':
        case '%':
        case '&':
        case '\'':
        case '*':
        case '+':
        case '-':
        case '/':
        case '=':
        case '?':
        case '^':
        case '_':
        case '`':
        case '{':
        case '|':
        case '}':
        case '~':
            return true;
        default:
            return false;
    }
}

// Valid UTF-8 (no overlongs, no surrogates): RFC 6531 requires well-formed UTF-8.
bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = 0;
        std::uint32_t cp = 0;
        if (c < 0x80) {
            ++i;
            continue;
        }
        if ((c & 0xE0) == 0xC0) {
            n = 1;
            cp = c & 0x1Fu;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2;
            cp = c & 0x0Fu;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3;
            cp = c & 0x07u;
        } else
            return false;
        if (i + n >= s.size()) return false;
        for (std::size_t k = 1; k <= n; ++k) {
            auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3Fu);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n + 1;
    }
    return true;
}

bool has_non_ascii(std::string_view s) {
    for (char c : s)
        if (static_cast<unsigned char>(c) >= 0x80) return true;
    return false;
}

bool valid_dot_string(std::string_view s, bool utf8) {
    if (s.empty() || s.front() == '.' || s.back() == '.') return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c == '.') {
            if (s[i - 1] == '.') return false;
            continue;
        }
        if (!is_atext(c, utf8)) return false;
    }
    return true;
}

bool valid_label(std::string_view l, bool utf8) {
    if (l.empty() || l.size() > max_label) return false;
    for (std::size_t i = 0; i < l.size(); ++i) {
        auto c = static_cast<unsigned char>(l[i]);
        bool ok = is_alpha(c) || is_digit(c) || (c >= 0x80 && utf8) ||
                  (c == '-' && i != 0 && i + 1 != l.size());
        if (!ok) return false;
    }
    return true;
}

bool valid_domain_name(std::string_view d, bool utf8) {
    std::size_t start = 0;
    while (true) {
        std::size_t dot = d.find('.', start);
        std::string_view label = d.substr(start, dot == std::string_view::npos ? dot : dot - start);
        if (!valid_label(label, utf8)) return false;
        if (dot == std::string_view::npos) return true;
        start = dot + 1;
    }
}

bool valid_address_literal(std::string_view d) {
    if (d.size() < 3 || d.front() != '[' || d.back() != ']') return false;
    std::string inner(d.substr(1, d.size() - 2));
    // inet_pton stops at a NUL: check every octet first so nothing hides behind one.
    for (char c : inner) {
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                  c == '.' || c == ':' || c == 'I' || c == 'P' || c == 'v';
        if (!ok) return false;
    }
    unsigned char buf[16];
    if (inner.rfind("IPv6:", 0) == 0) return ::inet_pton(AF_INET6, inner.c_str() + 5, buf) == 1;
    return ::inet_pton(AF_INET, inner.c_str(), buf) == 1;
}

// Skips a source route "@a,@b:" (obsolete, accepted and ignored, RFC 5321 §4.1.1.3): each hop
// must still be a domain or an address literal, so that nothing unchecked (a control octet, a
// space, a '>') hides in the part that is ignored. Returns its length, 0 when there is none,
// npos when it is malformed.
std::size_t skip_source_route(std::string_view s, bool utf8) {
    constexpr auto npos = std::string_view::npos;
    if (s.empty() || s.front() != '@') return 0;
    std::size_t i = 0;
    for (;;) {
        if (i >= s.size() || s[i] != '@') return npos;
        const bool literal = i + 1 < s.size() && s[i + 1] == '[';
        const std::size_t end = literal ? s.find(']', i + 1) + 1 : s.find_first_of(",:", i + 1);
        if (end == npos || end == 0 || end >= s.size() || (s[end] != ',' && s[end] != ':'))
            return npos;
        const std::string_view hop = s.substr(i + 1, end - i - 1);
        if (hop.empty() || hop.size() > max_domain) return npos;
        if (has_non_ascii(hop) && (!utf8 || !valid_utf8(hop))) return npos;
        if (!(literal ? valid_address_literal(hop) : valid_domain_name(hop, utf8))) return npos;
        if (s[end] == ':') return end + 1;
        i = end + 1;
    }
}

// Scans the local part starting at s[0]; returns its length or npos.
std::size_t scan_local(std::string_view s) {
    if (!s.empty() && s.front() == '"') {
        for (std::size_t i = 1; i < s.size(); ++i) {
            auto c = static_cast<unsigned char>(s[i]);
            if (c == '\\') {
                if (i + 1 >= s.size()) return std::string_view::npos;
                auto q = static_cast<unsigned char>(s[i + 1]);
                if (q < 32 || q == 127) return std::string_view::npos;
                ++i;
            } else if (c == '"') {
                return i + 1;
            } else if (c < 32 || c == 127) {
                return std::string_view::npos;
            }
        }
        return std::string_view::npos;
    }
    std::size_t at = s.find('@');
    return at;
}

ParsedPath fail(AddressProblem p, std::string detail) {
    ParsedPath r;
    r.error = {p, std::move(detail)};
    return r;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto x = static_cast<unsigned char>(a[i]);
        auto y = static_cast<unsigned char>(b[i]);
        if (x >= 'A' && x <= 'Z') x = static_cast<unsigned char>(x + 32);
        if (y >= 'A' && y <= 'Z') y = static_cast<unsigned char>(y + 32);
        if (x != y) return false;
    }
    return true;
}

ParsedPath parse_path(std::string_view text, bool allow_null, bool utf8) {
    if (text.empty() || text.front() != '<') return fail(AddressProblem::syntax, "missing <");
    std::string_view rest = text.substr(1);
    if (!rest.empty() && rest.front() == '>') {
        if (!allow_null) return fail(AddressProblem::syntax, "null address not allowed here");
        ParsedPath r;
        r.ok = true;
        r.consumed = 2;
        return r;
    }
    std::size_t route = skip_source_route(rest, utf8);
    if (route == std::string_view::npos) return fail(AddressProblem::syntax, "bad source route");
    rest.remove_prefix(route);

    std::size_t local_len = scan_local(rest);
    if (local_len == std::string_view::npos || local_len == 0 || local_len >= rest.size() ||
        rest[local_len] != '@')
        return fail(AddressProblem::syntax, "bad local part");
    std::string_view local = rest.substr(0, local_len);
    std::string_view after = rest.substr(local_len + 1);
    std::size_t close = after.find('>');
    if (close == std::string_view::npos) return fail(AddressProblem::syntax, "missing >");
    std::string_view domain = after.substr(0, close);

    if (local.size() > max_local)
        return fail(AddressProblem::local_too_long, "local part too long");
    if (domain.size() > max_domain) return fail(AddressProblem::domain_too_long, "domain too long");
    if (has_non_ascii(local) || has_non_ascii(domain)) {
        if (!utf8) return fail(AddressProblem::non_ascii, "non-ASCII address without SMTPUTF8");
        if (!valid_utf8(local) || !valid_utf8(domain))
            return fail(AddressProblem::syntax, "invalid UTF-8");
    }
    bool local_ok = local.front() == '"' ? true : valid_dot_string(local, utf8);
    if (!local_ok) return fail(AddressProblem::syntax, "bad local part");
    bool domain_ok = (!domain.empty() && domain.front() == '[') ? valid_address_literal(domain)
                                                                : valid_domain_name(domain, utf8);
    if (!domain_ok) return fail(AddressProblem::syntax, "bad domain");

    ParsedPath r;
    r.ok = true;
    r.address.local = std::string(local);
    r.address.domain = std::string(domain);
    r.consumed = static_cast<std::size_t>(after.data() - text.data()) + close + 1;
    return r;
}

}  // namespace referent::smtp
