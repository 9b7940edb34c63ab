#include "mail/classify.hpp"

#include <utility>

#include "mail/ascii.hpp"
#include "mail/bounce_text.hpp"
#include "mail/content_type.hpp"
#include "mail/headers.hpp"
#include "mail/utf8.hpp"

namespace referent::mail {

std::string_view to_string(MailClass c) {
    switch (c) {
        case MailClass::human:
            return "human";
        case MailClass::auto_reply:
            return "auto-reply";
        case MailClass::bounce:
            return "bounce";
        case MailClass::bulk:
            return "bulk";
        case MailClass::loop:
            return "loop";
    }
    return "unknown";
}

namespace {

using Verdict = std::optional<std::string>;  // the reason, when a rule matched

// A header token fit for a log line: printable, short, valid UTF-8.
std::string short_token(std::string_view value) {
    std::string t(first_token(value).substr(0, 40));
    for (char& c : t)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '?';
    return valid_utf8(t);
}

// The From address for the rules: the parsed From when valid, else the raw value's angle
// address, or its first address-looking word, or the value itself ("<MAILER-DAEMON>").
std::string from_for_rules(const Message& m) {
    MailResult<Mailbox> from = m.from();
    if (from) return lower(from->address);
    std::optional<std::string> raw = m.raw_header("From");
    if (!raw) return {};
    std::string_view v = *raw;
    std::size_t lt = v.rfind('<');
    std::size_t gt = lt == std::string_view::npos ? lt : v.find('>', lt);
    if (gt != std::string_view::npos) return lower(trim(v.substr(lt + 1, gt - lt - 1)));
    std::vector<std::string> found = addresses_in(v, 1);
    return lower(found.empty() ? std::string(first_token(v)) : found.front());
}

std::string_view local_part(std::string_view address) {
    return address.substr(0, address.find('@'));
}

Verdict bounce_rule(const Message& m, const EnvelopeInfo& envelope) {
    if (envelope.mail_from && envelope.mail_from->empty()) return "null envelope sender";
    const std::vector<PartInfo>& parts = m.parts();
    if (!parts.empty() && parts[0].content_type == "multipart/report") {
        std::string type = lower(parts[0].parameter("report-type"));
        if (type == "delivery-status" || type == "global-delivery-status")
            return "multipart/report; report-type=" + type;
    }
    for (const PartInfo& p : parts)
        if (!p.in_attached_message && (p.content_type == "message/delivery-status" ||
                                       p.content_type == "message/global-delivery-status"))
            return p.content_type + " part";
    if (m.header_count("X-Failed-Recipients") > 0) return "X-Failed-Recipients header";
    std::string from = from_for_rules(m);
    std::string_view local = local_part(from);
    if (local == "mailer-daemon" || local == "postmaster") return "From " + std::string(local);
    return std::nullopt;
}

// "address" or "domain" when `address` is ours, "" otherwise.
std::string_view ours(std::string_view address, const ClassifyConfig& config) {
    for (const std::string& a : config.own_addresses)
        if (iequals(a, address)) return "address";
    std::size_t at = address.rfind('@');
    if (at == std::string_view::npos) return {};
    for (const std::string& d : config.own_domains)
        if (iequals(d, address.substr(at + 1))) return "domain";
    return {};
}

Verdict loop_rule(const Message& m, const EnvelopeInfo& envelope, const ClassifyConfig& config) {
    if (!config.loop_token.empty())
        for (const std::string& v : m.raw_headers(headers::loop))
            if (iequals(trim(v), config.loop_token))
                return "our loop header " + std::string(headers::loop);
    std::string id = m.message_id();
    std::size_t at = id.rfind('@');
    if (!config.message_id_domain.empty() && at != std::string::npos &&
        iequals(std::string_view(id).substr(at + 1), config.message_id_domain))
        return "Message-ID minted by this gateway";
    if (MailResult<Mailbox> from = m.from(); from)
        if (std::string_view kind = ours(from->address, config); !kind.empty())
            return "From our own " + std::string(kind);
    if (envelope.mail_from && !envelope.mail_from->empty())
        if (std::string_view kind = ours(*envelope.mail_from, config); !kind.empty())
            return "envelope sender is our own " + std::string(kind);
    std::size_t received = m.header_count("Received");
    if (received > config.max_received)
        return std::to_string(received) + " Received headers (more than " +
               std::to_string(config.max_received) + ")";
    return std::nullopt;
}

Verdict precedence_is(const Message& m, std::initializer_list<std::string_view> values) {
    for (const char* name : {"Precedence", "X-Precedence"})
        for (const std::string& v : m.raw_headers(name)) {
            std::string token = lower(first_token(v));
            for (std::string_view wanted : values)
                if (token == wanted) return std::string(name) + ": " + token;
        }
    return std::nullopt;
}

bool exchange_rule_pair(const Message& m) {
    if (m.header_count("X-MS-Exchange-Inbox-Rules-Loop") == 0) return false;
    for (const std::string& v : m.raw_headers(headers::auto_response_suppress)) {
        std::string_view rest = v;
        while (!rest.empty()) {
            std::size_t comma = rest.find(',');
            if (iequals(trim(rest.substr(0, comma)), "All")) return true;
            rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        }
    }
    return false;
}

// Localised prefixes of out-of-office and auto-reply subjects (Outlook, Exchange, Gmail,
// Thunderbird, Lotus Notes). ASCII case is ignored; accented capitals are listed.
constexpr std::string_view subject_prefixes[] = {"Réponse automatique",
                                                 "RÉPONSE AUTOMATIQUE",
                                                 "Reponse automatique",
                                                 "Absence du bureau",
                                                 "Out of Office",
                                                 "Automatic reply",
                                                 "Auto:",
                                                 "Abwesenheitsnotiz",
                                                 "Automatische Antwort",
                                                 "Autoreply",
                                                 "Auto-Reply",
                                                 "Respuesta automática",
                                                 "Risposta automatica",
                                                 "Resposta automática"};

Verdict header_present(const Message& m, std::initializer_list<std::string_view> names) {
    for (std::string_view name : names)
        if (m.header_count(name) > 0) return std::string(name) + " header";
    return std::nullopt;
}

Verdict auto_reply_rule(const Message& m) {
    for (const std::string& v : m.raw_headers(headers::auto_submitted)) {
        std::string token = lower(first_token(v));
        if (token != "no")
            return "Auto-Submitted: " + (token.empty() ? "(empty)" : short_token(token));
    }
    if (Verdict v = header_present(m, {"X-Autoreply", "X-Autorespond", "X-Autoresponder",
                                       "X-AutoReply-From", "X-Mail-Autoreply", "X-Autogenerated"}))
        return v;
    for (const std::string& v : m.raw_headers("X-FC-MachineGenerated"))
        if (iequals(first_token(v), "true")) return "X-FC-MachineGenerated: true";
    if (Verdict v = precedence_is(m, {"auto_reply"})) return v;
    if (exchange_rule_pair(m))
        return "X-MS-Exchange-Inbox-Rules-Loop with X-Auto-Response-Suppress: All";
    if (Verdict v = header_present(m, {"X-MS-Exchange-Generated-Message-Source"})) return v;
    const std::vector<PartInfo>& parts = m.parts();
    if (!parts.empty() && parts[0].content_type == "multipart/report" &&
        iequals(parts[0].parameter("report-type"), "disposition-notification"))
        return "multipart/report; report-type=disposition-notification (read receipt)";
    std::string subject(trim(m.subject()));
    for (std::string_view prefix : subject_prefixes)
        if (istarts_with(subject, prefix))
            return "subject starts with \"" + std::string(prefix) + "\"";
    return std::nullopt;
}

Verdict bulk_rule(const Message& m) {
    if (Verdict v = precedence_is(m, {"bulk", "junk", "list"})) return v;
    for (const HeaderField& f : m.header_fields())
        if (istarts_with(f.name, "List-")) return short_token(f.name) + " header";
    return std::nullopt;
}

}  // namespace

Classification classify(const Message& message, const EnvelopeInfo& envelope,
                        const ClassifyConfig& config) {
    if (Verdict v = bounce_rule(message, envelope))
        return {MailClass::bounce, std::move(*v), extract_bounce_report(message)};
    if (Verdict v = loop_rule(message, envelope, config))
        return {MailClass::loop, std::move(*v), std::nullopt};
    if (Verdict v = auto_reply_rule(message))
        return {MailClass::auto_reply, std::move(*v), std::nullopt};
    if (Verdict v = bulk_rule(message)) return {MailClass::bulk, std::move(*v), std::nullopt};
    return {MailClass::human, "no sign of automation", std::nullopt};
}

ClassifyConfig classify_config(const config::Config& c) {
    ClassifyConfig out;
    out.loop_token = c.gateway.hostname;
    out.message_id_domain = c.gateway.hostname;
    for (const auto& service : c.services) out.own_addresses.push_back(service.address);
    out.own_domains = {c.organisation.agent_domain, c.gateway.hostname};
    return out;
}

ParseLimits parse_limits(const config::Limits& l) {
    return {l.max_message_size, l.max_header_size, l.max_mime_depth, l.max_mime_parts};
}

}  // namespace referent::mail
