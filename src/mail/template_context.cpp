#include "mail/template_context.hpp"

#include <array>
#include <cstdio>

namespace referent::mail {

namespace {

constexpr std::array<std::string_view, 12> months_fr{
    "janvier", "février", "mars",      "avril",   "mai",      "juin",
    "juillet", "août",    "septembre", "octobre", "novembre", "décembre"};
constexpr std::array<std::string_view, 12> months_en{
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December"};

std::string iso_date(const config::Date& d) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", d.year, d.month, d.day);
    return buf;
}

config::Date date(int y, unsigned m, unsigned d) {
    return config::Date{y, m, d};
}

Card sample_card(bool anonymous, bool full) {
    Card c;
    c.name = "Jeanne Martin-Lefèvre";
    c.title = full ? "Officière d’état civil" : "";
    c.service = "Service État civil";
    c.phone = full ? "+33 1 23 45 67 89" : "";
    c.email = "etat-civil+c42@mairie-exemple.fr";
    c.hours = full ? "du lundi au vendredi, de 9 h à 12 h" : "";
    c.postal_address = "1 place de la République, 99000 Villeneuve-Exemple";
    c.anonymous = anonymous;
    return c;
}

Card sample_delegate() {
    Card c = sample_card(false, true);
    c.name = "Karim Benali";
    c.title = "Agent d’état civil";
    c.phone = "+33 1 23 45 67 90";
    return c;
}

}  // namespace

std::string format_date(const config::Date& d, std::string_view language) {
    if (d.month < 1 || d.month > 12 || d.day < 1 || d.day > 31) return iso_date(d);
    const auto month = static_cast<std::size_t>(d.month - 1);
    std::string day = std::to_string(d.day);
    if (language == "fr") {
        if (d.day == 1) day += "er";  // "1er mars", the French ordinal for the first day
        return day + " " + std::string(months_fr[month]) + " " + std::to_string(d.year);
    }
    if (language == "en") {
        return day + " " + std::string(months_en[month]) + " " + std::to_string(d.year);
    }
    return iso_date(d);
}

Card make_card(const config::Agent& agent, const config::Service& service,
               const config::Organisation& organisation, std::string email) {
    Card c;
    c.name = agent.name;
    c.title = agent.title;
    c.service = service.name;
    c.phone = agent.phone;
    c.email = std::move(email);
    c.hours = agent.hours;
    c.postal_address = organisation.postal_address;
    c.anonymous = agent.anonymous;
    return c;
}

TemplateContext sample_context(std::string_view language, Sample sample) {
    const bool full = sample == Sample::full;
    TemplateContext ctx;
    ctx.organisation = {"Mairie de Villeneuve-Exemple",
                        "1 place de la République, 99000 Villeneuve-Exemple"};
    ctx.service = {"Service État civil", "etat-civil@mairie-exemple.fr",
                   full ? "+33 1 23 45 67 00" : ""};
    ctx.agent = sample_card(!full, full);

    CaseInfo c;
    c.number = "EC-2026-000042";
    c.subject = full ? "Demande d’acte de naissance" : "";
    c.opened = format_date(date(2026, 3, 2), language);
    c.due = format_date(date(2026, 3, 9), language);
    c.earlier_messages = full ? 2 : 0;
    c.citizen = {full ? "Paul Durand" : "", "paul.durand@example.org"};
    ctx.case_ = c;

    AbsenceInfo a;
    if (full) a.delegate = sample_delegate();
    a.until = format_date(date(2026, 3, 20), language);
    ctx.absence = a;

    ctx.failure = FailureInfo{"paul.durand@example.org", "5.1.1",
                              "smtp; 550 5.1.1 <paul.durand@example.org>: user unknown"};
    ctx.handover = HandoverInfo{full ? HandoverReason::reassigned : HandoverReason::absence};
    ctx.refusal = RefusalInfo{language == "fr" ? "le dossier a changé de référent."
                                               : "the case has a new referent.",
                              full ? "Marc Petit" : ""};
    return ctx;
}

}  // namespace referent::mail
