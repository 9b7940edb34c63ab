#include "spool/envelope.hpp"

#include <array>
#include <cassert>
#include <charconv>
#include <cstdio>
#include <optional>

namespace referent::spool {

namespace {

using namespace std::chrono;
using util::Error;

constexpr std::string_view magic = "referent-envelope";
constexpr std::string_view null_sender = "<>";

bool has_line_break_or_nul(std::string_view s) {
    return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

// The raw values as read, before any conversion; nullopt = key absent.
struct Fields {
    std::optional<std::string> id, arrival, role, protocol, client, helo, tls, smtputf8, body,
        mail_from;
    std::vector<std::string> rcpt;
};

struct SingleKey {
    std::string_view name;
    std::optional<std::string> Fields::*member;
};

// Also the order of format_envelope(): identity and time first, recipients (repeated) last.
constexpr std::array<SingleKey, 10> single_keys{{
    {"id", &Fields::id},
    {"arrival", &Fields::arrival},
    {"role", &Fields::role},
    {"protocol", &Fields::protocol},
    {"client", &Fields::client},
    {"helo", &Fields::helo},
    {"tls", &Fields::tls},
    {"smtputf8", &Fields::smtputf8},
    {"body", &Fields::body},
    {"mail-from", &Fields::mail_from},
}};

Error refuse(std::string reason) {
    return Error::permanent("envelope: " + std::move(reason));
}

std::string format_time(system_clock::time_point t) {
    const auto us = floor<microseconds>(t);
    const auto day = floor<days>(us);
    const year_month_day ymd{day};
    const hh_mm_ss hms{us - day};
    char buf[64];
    std::snprintf(
        buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02ld.%06ldZ", static_cast<int>(ymd.year()),
        static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
        static_cast<long>(hms.hours().count()), static_cast<long>(hms.minutes().count()),
        static_cast<long>(hms.seconds().count()), static_cast<long>(hms.subseconds().count()));
    return buf;
}

// Reads exactly `n` decimal digits at `pos`.
std::optional<int> digits(std::string_view s, std::size_t pos, std::size_t n) {
    if (pos + n > s.size()) return std::nullopt;
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return std::nullopt;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

// Exactly the shape format_time() writes: "YYYY-MM-DDTHH:MM:SS.ffffffZ".
std::optional<system_clock::time_point> parse_time(std::string_view s) {
    constexpr std::string_view shape = "0000-00-00T00:00:00.000000Z";
    if (s.size() != shape.size()) return std::nullopt;
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] != '0' && s[i] != shape[i]) return std::nullopt;
    }
    const auto y = digits(s, 0, 4), mo = digits(s, 5, 2), d = digits(s, 8, 2);
    const auto h = digits(s, 11, 2), mi = digits(s, 14, 2), sec = digits(s, 17, 2);
    const auto us = digits(s, 20, 6);
    if (!y || !mo || !d || !h || !mi || !sec || !us) return std::nullopt;
    const year_month_day ymd{year{*y}, month{static_cast<unsigned>(*mo)},
                             day{static_cast<unsigned>(*d)}};
    if (!ymd.ok() || *h > 23 || *mi > 59 || *sec > 59) return std::nullopt;
    return sys_days{ymd} + hours{*h} + minutes{*mi} + seconds{*sec} + microseconds{*us};
}

std::optional<bool> parse_yes_no(const std::string& v) {
    if (v == "yes") return true;
    if (v == "no") return false;
    return std::nullopt;
}

util::Result<int> parse_header_line(std::string_view line) {
    const std::string prefix = std::string(magic) + " ";
    if (line.substr(0, prefix.size()) != prefix) return refuse("not a referent envelope");
    const std::string_view v = line.substr(prefix.size());
    int version = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), version);
    if (ec != std::errc() || end != v.data() + v.size() || v.empty()) {
        return refuse("malformed version line");
    }
    if (version != Envelope::current_version) {
        return refuse("unsupported envelope version " + std::to_string(version));
    }
    return version;
}

// One "key: value" (or "key:" for an empty value) line into `fields`.
util::Status parse_field(std::string_view line, std::size_t number, Fields& fields) {
    const std::string where = "line " + std::to_string(number) + ": ";
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
        return refuse(where + "expected \"key: value\"");
    }
    const std::string_view key = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (key == "rcpt") {
        fields.rcpt.emplace_back(value);
        return {};
    }
    for (const auto& k : single_keys) {
        if (k.name != key) continue;
        auto& slot = fields.*k.member;
        if (slot) return refuse(where + "duplicate key \"" + std::string(key) + "\"");
        slot.emplace(value);
        return {};
    }
    return refuse(where + "unknown key \"" + std::string(key) + "\"");
}

util::Result<Envelope> build(Fields f) {
    for (const auto& k : single_keys) {
        if (!(f.*k.member)) return refuse("missing key \"" + std::string(k.name) + "\"");
    }
    // The one rule the conversion below would hide: "" is not how the null sender is written.
    if (f.mail_from->empty()) return refuse("empty mail-from (the null sender is <>)");
    const auto arrival = parse_time(*f.arrival);
    if (!arrival) return refuse("malformed arrival \"" + *f.arrival + "\"");
    const auto tls = parse_yes_no(*f.tls);
    const auto utf8 = parse_yes_no(*f.smtputf8);
    if (!tls) return refuse("tls must be yes or no");
    if (!utf8) return refuse("smtputf8 must be yes or no");
    Envelope e;
    e.id = std::move(*f.id);
    e.role = std::move(*f.role);
    e.protocol = std::move(*f.protocol);
    e.client_address = std::move(*f.client);
    e.helo = std::move(*f.helo);
    e.mail_from = *f.mail_from == null_sender ? std::string() : std::move(*f.mail_from);
    e.recipients = std::move(f.rcpt);
    e.arrival = *arrival;
    e.tls = *tls;
    e.smtputf8 = *utf8;
    e.body = std::move(*f.body);
    if (auto st = validate_envelope(e); !st) return st.error();
    return e;
}

}  // namespace

bool is_valid_id(std::string_view id) {
    if (id.empty() || id.size() > max_id_length) return false;
    for (char c : id) {
        const bool alnum =
            (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!alnum) return false;
    }
    return true;
}

util::Status validate_envelope(const Envelope& e) {
    if (!is_valid_id(e.id)) return refuse("invalid id \"" + e.id + "\"");
    if (e.role != "public" && e.role != "internal")
        return refuse("invalid role \"" + e.role + "\"");
    if (e.protocol.empty()) return refuse("empty protocol");
    if (e.client_address.empty()) return refuse("empty client");
    if (e.body.empty()) return refuse("empty body");
    if (e.mail_from == null_sender) return refuse("mail-from is the literal <>");
    if (e.recipients.empty()) return refuse("no recipients");
    for (const auto& r : e.recipients) {
        if (r.empty()) return refuse("empty rcpt");
        if (has_line_break_or_nul(r)) return refuse("CR, LF or NUL in rcpt");
    }
    for (const std::string* v :
         {&e.role, &e.protocol, &e.client_address, &e.helo, &e.mail_from, &e.body}) {
        if (has_line_break_or_nul(*v)) return refuse("CR, LF or NUL in a value");
    }
    return {};
}

std::string format_envelope(const Envelope& e) {
    assert(validate_envelope(e));
    std::string out = std::string(magic) + " " + std::to_string(Envelope::current_version) + "\n";
    auto line = [&out](std::string_view key, std::string_view value) {
        out.append(key).append(": ").append(value).append("\n");
    };
    line("id", e.id);
    line("arrival", format_time(e.arrival));
    line("role", e.role);
    line("protocol", e.protocol);
    line("client", e.client_address);
    line("helo", e.helo);
    line("tls", e.tls ? "yes" : "no");
    line("smtputf8", e.smtputf8 ? "yes" : "no");
    line("body", e.body);
    line("mail-from", e.mail_from.empty() ? null_sender : std::string_view(e.mail_from));
    for (const auto& r : e.recipients) line("rcpt", r);
    return out;
}

util::Result<Envelope> parse_envelope(std::string_view text) {
    if (text.find_first_of(std::string_view("\r\0", 2)) != std::string_view::npos) {
        return refuse("contains CR or NUL");
    }
    // The file is fsynced before its rename, so a missing final newline means damage.
    if (text.empty() || text.back() != '\n') return refuse("truncated (no final newline)");
    Fields fields;
    std::size_t number = 0;
    while (!text.empty()) {
        const auto eol = text.find('\n');
        const std::string_view line = text.substr(0, eol);
        text.remove_prefix(eol + 1);
        ++number;
        if (number == 1) {
            if (auto v = parse_header_line(line); !v) return v.error();
            continue;
        }
        if (auto st = parse_field(line, number, fields); !st) return st.error();
    }
    return build(std::move(fields));
}

}  // namespace referent::spool
