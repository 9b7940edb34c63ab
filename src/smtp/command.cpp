#include "smtp/command.hpp"

#include <array>
#include <utility>

namespace referent::smtp {

namespace {

struct VerbName {
    std::string_view name;
    Verb verb;
};

constexpr std::array<VerbName, 15> verbs{{
    {"HELO", Verb::helo},
    {"EHLO", Verb::ehlo},
    {"LHLO", Verb::lhlo},
    {"MAIL", Verb::mail},
    {"RCPT", Verb::rcpt},
    {"DATA", Verb::data},
    {"RSET", Verb::rset},
    {"NOOP", Verb::noop},
    {"QUIT", Verb::quit},
    {"VRFY", Verb::vrfy},
    {"EXPN", Verb::expn},
    {"HELP", Verb::help},
    {"STARTTLS", Verb::starttls},
    {"BDAT", Verb::bdat},
    {"AUTH", Verb::auth},
}};

std::string_view trim_spaces(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// Strips a case-insensitive keyword such as "FROM:" and the spaces some clients put after it.
std::optional<std::string_view> strip_keyword(std::string_view arg, std::string_view keyword) {
    if (arg.size() < keyword.size() || !iequals(arg.substr(0, keyword.size()), keyword))
        return std::nullopt;
    arg.remove_prefix(keyword.size());
    while (!arg.empty() && arg.front() == ' ') arg.remove_prefix(1);
    return arg;
}

Reply address_refusal(const AddressError& e, bool sender) {
    switch (e.problem) {
        case AddressProblem::non_ascii:
            return {553, "5.6.7", "Error: non-ASCII address requires SMTPUTF8"};
        case AddressProblem::local_too_long:
            return {553, sender ? "5.1.7" : "5.1.3", "Error: local part longer than 64 octets"};
        case AddressProblem::domain_too_long:
            return {553, sender ? "5.1.7" : "5.1.3", "Error: domain longer than 255 octets"};
        case AddressProblem::syntax:
            break;
    }
    return {501, sender ? "5.1.7" : "5.1.3", "Error: bad address syntax"};
}

std::optional<std::uint64_t> parse_size(std::string_view v) {
    if (v.empty() || v.size() > 20) return std::nullopt;
    std::uint64_t n = 0;
    for (char c : v) {
        if (c < '0' || c > '9') return std::nullopt;
        auto d = static_cast<std::uint64_t>(c - '0');
        if (n > (UINT64_MAX - d) / 10) return std::nullopt;
        n = n * 10 + d;
    }
    return n;
}

// Applies one "KEY[=VALUE]" MAIL parameter; returns a refusal when it is not acceptable.
std::optional<Reply> apply_mail_param(std::string_view param, MailArgs& args) {
    std::size_t eq = param.find('=');
    std::string_view key = param.substr(0, eq);
    std::string_view value =
        eq == std::string_view::npos ? std::string_view{} : param.substr(eq + 1);
    bool has_value = eq != std::string_view::npos;
    if (iequals(key, "SIZE")) {
        auto n = has_value ? parse_size(value) : std::nullopt;
        if (!n) return Reply{501, "5.5.4", "Error: bad SIZE parameter"};
        args.size = n;
    } else if (iequals(key, "BODY")) {
        if (iequals(value, "7BIT"))
            args.body = Body::seven_bit;
        else if (iequals(value, "8BITMIME"))
            args.body = Body::eight_bit_mime;
        else
            return Reply{501, "5.5.4", "Error: unsupported BODY parameter"};
    } else if (iequals(key, "SMTPUTF8")) {
        if (has_value) return Reply{501, "5.5.4", "Error: SMTPUTF8 takes no value"};
        args.smtputf8 = true;
    } else {
        return Reply{555, "5.5.4", "Error: unsupported MAIL parameter"};
    }
    return std::nullopt;
}

}  // namespace

Command parse_command(std::string_view line) {
    std::size_t end = line.find(' ');
    std::string_view word = line.substr(0, end);
    Command c;
    for (const auto& v : verbs)
        if (iequals(word, v.name)) c.verb = v.verb;
    if (end != std::string_view::npos) c.argument = trim_spaces(line.substr(end + 1));
    return c;
}

MailParse parse_mail(std::string_view argument) {
    MailParse out;
    auto rest = strip_keyword(argument, "FROM:");
    if (!rest) {
        out.refusal = {501, "5.5.4", "Syntax: MAIL FROM:<address>"};
        return out;
    }
    // SMTPUTF8 may follow the path: scan the parameters loosely first to know whether
    // non-ASCII is allowed in the path itself.
    bool utf8 = false;
    for (std::size_t p = 0; (p = rest->find(' ', p)) != std::string_view::npos; ++p) {
        std::string_view tail = rest->substr(p + 1);
        if (iequals(tail.substr(0, 8), "SMTPUTF8") && (tail.size() == 8 || tail[8] == ' '))
            utf8 = true;
    }
    ParsedPath path = parse_path(*rest, true, utf8);
    if (!path.ok) {
        out.refusal = address_refusal(path.error, true);
        return out;
    }
    MailArgs args;
    args.from = std::move(path.address);
    std::string_view params = rest->substr(path.consumed);
    if (!params.empty() && params.front() != ' ') {
        out.refusal = {501, "5.5.4", "Error: bad address syntax"};
        return out;
    }
    while (!params.empty()) {
        while (!params.empty() && params.front() == ' ') params.remove_prefix(1);
        if (params.empty()) break;
        std::size_t sp = params.find(' ');
        if (auto refusal = apply_mail_param(params.substr(0, sp), args)) {
            out.refusal = std::move(*refusal);
            return out;
        }
        params = sp == std::string_view::npos ? std::string_view{} : params.substr(sp);
    }
    out.args = std::move(args);
    return out;
}

RcptParse parse_rcpt(std::string_view argument, bool utf8) {
    RcptParse out;
    auto rest = strip_keyword(argument, "TO:");
    if (!rest) {
        out.refusal = {501, "5.5.4", "Syntax: RCPT TO:<address>"};
        return out;
    }
    ParsedPath path = parse_path(*rest, false, utf8);
    if (!path.ok) {
        out.refusal = address_refusal(path.error, false);
        return out;
    }
    std::string_view params = trim_spaces(rest->substr(path.consumed));
    if (!params.empty()) {
        out.refusal = {555, "5.5.4", "Error: unsupported RCPT parameter"};
        return out;
    }
    out.args = RcptArgs{std::move(path.address)};
    return out;
}

}  // namespace referent::smtp
