// Reply addresses, recipients and contexts: see flow.hpp.
#include <chrono>

#include "cases/calendar.hpp"
#include "cases/threading.hpp"
#include "mail/template_context.hpp"
#include "pipeline/flow.hpp"
#include "util/cat.hpp"

namespace referent::pipeline {

namespace {

std::string lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

std::string base_of(std::string_view rcpt) {
    std::string local = local_part(rcpt);
    return local.substr(0, local.find('+'));
}

config::Date date_of(cases::Day d) {
    return {static_cast<int>(d.year()), static_cast<unsigned>(d.month()),
            static_cast<unsigned>(d.day())};
}

}  // namespace

std::string local_part(std::string_view address) {
    return std::string(address.substr(0, address.rfind('@')));
}

std::optional<std::string> subaddress(std::string_view rcpt) {
    std::string local = local_part(rcpt);
    std::size_t plus = local.find('+');
    if (plus == std::string::npos) return std::nullopt;
    return local.substr(plus + 1);
}

const config::Service* service_of(const config::Config& c, std::string_view rcpt) {
    const std::string base = lower(base_of(rcpt));
    for (const config::Service& s : c.services)
        if (lower(local_part(s.address)) == base) return &s;
    return nullptr;
}

const config::Agent* agent_by_address(const config::Config& c, std::string_view address) {
    for (const config::Agent& a : c.agents) {
        if (cases::same_address(a.email, address)) return &a;
        for (const std::string& alias : a.aliases)
            if (cases::same_address(alias, address)) return &a;
    }
    return nullptr;
}

util::Result<std::string> citizen_reply_address(const config::Config& c, const cases::TokenKeys& k,
                                                const cases::Case& kase) {
    const config::Service* s = c.find_service(kase.service);
    if (!s) return util::Error::permanent(util::cat("unknown service ", kase.service));
    const std::string token =
        k.mint({cases::TokenPurpose::citizen_reply, static_cast<std::uint32_t>(kase.id),
                static_cast<std::uint32_t>(kase.citizen.id)});
    return cases::token_address(local_part(s->address), token, c.organisation.citizen_domain);
}

util::Result<std::string> agent_reply_address(const config::Config& c, const cases::TokenKeys& k,
                                              const cases::Case& kase, std::uint32_t party) {
    const std::string token =
        k.mint({cases::TokenPurpose::agent_reply, static_cast<std::uint32_t>(kase.id), party});
    return cases::token_address(lower(kase.number), token, c.organisation.agent_domain);
}

util::Result<std::string> bounce_address(const config::Config& c, const cases::TokenKeys& k,
                                         const cases::Case& kase, std::int64_t delivery) {
    const config::Service* s = c.find_service(kase.service);
    if (!s) return util::Error::permanent(util::cat("unknown service ", kase.service));
    const std::string token =
        k.mint({cases::TokenPurpose::bounce, static_cast<std::uint32_t>(kase.id),
                static_cast<std::uint32_t>(delivery)});
    return cases::token_address(local_part(s->address), token, c.organisation.citizen_domain);
}

mail::TemplateContext context_for(const config::Config& c, const cases::Case& kase,
                                  const config::Agent* agent, const std::string& card_email,
                                  std::uint32_t earlier_messages, const std::string& subject) {
    const config::Service* s = c.find_service(kase.service);
    mail::TemplateContext t;
    t.organisation = {c.organisation.name, c.organisation.postal_address};
    t.service = {s ? s->name : kase.service, s ? s->address : "", ""};
    if (agent && s) {
        t.agent = mail::make_card(*agent, *s, c.organisation, card_email);
    } else {
        t.agent.name = t.service.name;
        t.agent.service = t.service.name;
        t.agent.email = card_email;
        t.agent.postal_address = c.organisation.postal_address;
        t.agent.anonymous = true;
    }
    const std::string& lang = c.organisation.language;
    mail::CaseInfo info;
    info.number = kase.number;
    info.subject = subject;
    info.opened = mail::format_date(date_of(cases::local_date(kase.opened)), lang);
    info.due = mail::format_date(date_of(kase.due), lang);
    info.earlier_messages = earlier_messages;
    info.citizen = {kase.citizen.name, kase.citizen.address};
    t.case_ = info;
    return t;
}

}  // namespace referent::pipeline
