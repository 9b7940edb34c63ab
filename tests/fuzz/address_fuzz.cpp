// libFuzzer target: one input through both address readers, smtp::parse_path (MAIL FROM / RCPT
// TO, every allow_null × utf8 combination) and mail::parse_mailbox (the From header).
// parse_path: an accepted path starts with '<', ends at `consumed` with '>', respects the
// RFC 5321 lengths (local ≤ 64, domain ≤ 255, label ≤ 63), holds no control octet anywhere and
// no space outside a quoted local part (source route included), is ASCII unless utf8, is null only
// when allowed, re-renders to a path that parses back to itself, and stays accepted (same value)
// when allow_null or utf8 is added. Every such address is also a valid header mailbox, same parts.
// parse_mailbox: an accepted mailbox has a local part and a domain with no CR, LF or NUL
// anywhere and no control octet or space outside quotes, and re-rendered as
// "display name" <local@domain> (or bare) it parses back to the same three parts.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mail/mailbox.hpp"
#include "smtp/address.hpp"

namespace {

using referent::mail::parse_mailbox;
using referent::mail::RawMailbox;
using referent::smtp::Address;
using referent::smtp::parse_path;
using referent::smtp::ParsedPath;

void check(bool ok) {
    if (!ok) std::abort();
}

bool is_control(unsigned char c) {
    return c < 0x20 || c == 0x7f;
}

// No control octet anywhere; no space outside a leading quoted string.
bool clean_part(std::string_view s, bool may_be_quoted) {
    bool quoted = may_be_quoted && !s.empty() && s.front() == '"';
    if (quoted) check(s.size() >= 2 && s.back() == '"');
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == '\r' || c == '\n' || c == '\0') return false;
        if (!quoted && (c == ' ' || c == '\t' || is_control(c))) return false;
    }
    return true;
}

bool ascii(std::string_view s) {
    for (char c : s)
        if (static_cast<unsigned char>(c) >= 0x80) return false;
    return true;
}

bool labels_fit(std::string_view domain) {
    if (domain.front() == '[') return true;
    std::size_t start = 0;
    for (;;) {
        const std::size_t dot = domain.find('.', start);
        const std::size_t end = dot == std::string_view::npos ? domain.size() : dot;
        if (end - start > 63) return false;
        if (dot == std::string_view::npos) return true;
        start = dot + 1;
    }
}

bool same(const Address& a, const Address& b) {
    return a.local == b.local && a.domain == b.domain;
}

void check_path(std::string_view text, bool allow_null, bool utf8, const ParsedPath& p) {
    if (!p.ok) {
        check(!p.error.detail.empty());
        return;
    }
    check(!text.empty() && text.front() == '<');
    check(p.consumed >= 2 && p.consumed <= text.size() && text[p.consumed - 1] == '>');
    const Address& a = p.address;
    // What was consumed (source route included) has no control octet, and spaces only in a
    // quoted local part.
    const std::string_view path = text.substr(0, p.consumed);
    for (char c : path) check(!is_control(static_cast<unsigned char>(c)));
    check(std::count(path.begin(), path.end(), ' ') ==
          std::count(a.local.begin(), a.local.end(), ' '));
    if (a.is_null()) {
        check(allow_null && p.consumed == 2);
        return;
    }
    check(!a.local.empty() && !a.domain.empty());
    check(a.local.size() <= 64 && a.domain.size() <= 255 && labels_fit(a.domain));
    check(clean_part(a.local, true) && clean_part(a.domain, false));
    check(a.domain.find('>') == std::string::npos);
    if (!utf8) check(ascii(a.local) && ascii(a.domain));
    const std::string rendered = "<" + a.to_string() + ">";
    const ParsedPath again = parse_path(rendered, allow_null, utf8);
    check(again.ok && same(again.address, a) && again.consumed == rendered.size());
    // An SMTP address is a header mailbox too, with the same parts.
    const auto mailbox = parse_mailbox(a.to_string());
    check(mailbox && mailbox->local_part == a.local && mailbox->domain == a.domain &&
          mailbox->display_name.empty());
}

void check_paths(std::string_view text) {
    ParsedPath p[2][2];
    for (int null_ok = 0; null_ok < 2; ++null_ok)
        for (int utf8 = 0; utf8 < 2; ++utf8) {
            p[null_ok][utf8] = parse_path(text, null_ok != 0, utf8 != 0);
            check_path(text, null_ok != 0, utf8 != 0, p[null_ok][utf8]);
        }
    // Allowing more never refuses or changes what was accepted.
    for (int null_ok = 0; null_ok < 2; ++null_ok)
        for (int utf8 = 0; utf8 < 2; ++utf8) {
            const ParsedPath& base = p[null_ok][utf8];
            if (!base.ok) continue;
            for (const ParsedPath* wider : {&p[1][utf8], &p[null_ok][1]})
                check(wider->ok && same(wider->address, base.address) &&
                      wider->consumed == base.consumed);
        }
}

// `s` as one RFC 5322 quoted-string.
std::string quote(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

void check_mailbox(std::string_view value) {
    const auto m = parse_mailbox(value);
    if (!m) return;
    check(!m->local_part.empty() && !m->domain.empty());
    check(clean_part(m->local_part, true) && clean_part(m->domain, false));
    check(m->display_name.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos);
    const std::string addr = m->local_part + "@" + m->domain;
    const std::string rendered =
        m->display_name.empty() ? addr : quote(m->display_name) + " <" + addr + ">";
    const auto again = parse_mailbox(rendered);
    check(again && again->local_part == m->local_part && again->domain == m->domain &&
          again->display_name == m->display_name);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    check_paths(text);
    check_mailbox(text);
    return 0;
}
