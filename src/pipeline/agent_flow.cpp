// Mail from the internal listener: a referent answering a citizen from their own mail client.
// Nothing reaches a citizen unless every check holds (verified token of this case naming this
// agent, the agent is the case's referent or its delegate today, From and envelope sender are
// the agent's, and the trusted Authentication-Results says pass when configured).
#include "cases/threading.hpp"
#include "mail/notice.hpp"
#include "mail/rewrite.hpp"
#include "pipeline/flow.hpp"
#include "util/cat.hpp"
#include "util/log.hpp"

namespace referent::pipeline {

namespace {

// The longest agent Message-ID a store key is made of (RFC 5322 ids are far shorter).
constexpr std::size_t max_keyed_message_id = 250;

// The store key of what answers an agent's message (`kind`: the reply to the citizen, or the
// notice of its refusal), made of that message's own Message-ID: an MTA's second delivery of it
// (a 250 it never saw) finds the first one's record and sends nothing more. "" (keyed by the
// spool id, as any other message, Flow::Out::key) without a Message-ID, or with one longer
// than any client writes: the store's keys stay short.
std::string agent_message_key(const Inbound& in, std::string_view kind, std::int64_t case_id,
                              const std::string& agent) {
    if (!in.message) return {};
    const std::string id = in.message->message_id();
    if (id.empty() || id.size() > max_keyed_message_id) return {};
    return util::cat(kind, "/", std::to_string(case_id), "/", agent, "/", id);
}

std::string trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return std::string(s);
}

std::string lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

// The value of `name=` in one resinfo ("dkim=pass header.d=example.fr"), lower-cased.
std::string property(std::string_view resinfo, std::string_view name) {
    for (std::size_t at = 0; (at = resinfo.find(name, at)) != std::string_view::npos; ++at) {
        const bool starts = at == 0 || resinfo[at - 1] == ' ' || resinfo[at - 1] == '\t';
        const std::size_t v = at + name.size();
        if (!starts || v >= resinfo.size() || resinfo[v] != '=') continue;
        std::size_t end = resinfo.find_first_of(" \t;()", v + 1);
        return lower(std::string(resinfo.substr(
            v + 1, end == std::string_view::npos ? std::string_view::npos : end - v - 1)));
    }
    return {};
}

// RFC 8601: the topmost Authentication-Results is the one our own MX added; it counts only when
// its authserv-id is trusted, and then DKIM must have passed for the sender's own domain
// (header.d, or header.i in it) or DMARC for it (header.from): a pass for any other domain
// proves nothing about the agent.
std::optional<std::string> authentication_problem(const config::Config& c, const mail::Message& m,
                                                  const std::string& domain) {
    const auto& trusted = c.gateway.trusted_authserv_ids;
    if (trusted.empty()) return std::nullopt;
    std::vector<std::string> all = m.raw_headers("Authentication-Results");
    if (all.empty()) return "no Authentication-Results header";
    const std::string top = lower(all.front());
    const std::string id = trim(std::string_view(top).substr(0, top.find(';')));
    bool known = false;
    for (const std::string& t : trusted) known = known || lower(t) == id;
    if (!known) return "topmost Authentication-Results is not from a trusted server";
    const std::string want = lower(domain);
    std::string_view rest(top);
    while (true) {
        const std::size_t semi = rest.find(';');
        if (semi == std::string_view::npos) break;
        rest.remove_prefix(semi + 1);
        const std::string resinfo = trim(rest.substr(0, rest.find(';')));
        const std::string i = property(resinfo, "header.i");
        if (resinfo.starts_with("dkim=pass") &&
            (property(resinfo, "header.d") == want || i.ends_with("@" + want)))
            return std::nullopt;
        if (resinfo.starts_with("dmarc=pass") && property(resinfo, "header.from") == want)
            return std::nullopt;
    }
    return util::cat("no DKIM or DMARC pass for ", want, " in the trusted Authentication-Results");
}

}  // namespace

namespace {

// One sentence for the agent, in the organisation's language.
std::string sentence(const config::Config& c, std::string_view fr, std::string_view en) {
    return std::string(c.organisation.language == "fr" ? fr : en);
}

}  // namespace

util::Status Flow::refuse_agent(std::optional<std::int64_t> case_id, std::string_view code,
                                const std::string& why, const config::Agent* notify,
                                const std::string& text, const std::string& referent) {
    util::log_info("pipeline",
                   util::cat(in_.spool_id, ": agent reply refused: reason=", code, " ", why));
    if (d_.metrics)
        d_.metrics
            ->counter("referent_agent_replies_refused_total",
                      "Messages on the internal listener that did not go to the citizen, by "
                      "reason.",
                      {{"reason", std::string(code)}})
            .inc();
    if (auto st = d_.store->record_event(case_id, "refused", util::cat(in_.spool_id, ": ", why));
        !st)
        return st;
    // Never a notice to an automatic message, never to an unknown sender (no backscatter).
    if (!notify || !case_id || in_.cls.mail_class != mail::MailClass::human) return {};
    const config::Config& c = *d_.config;
    auto kase = d_.store->case_by_id(*case_id);
    if (!kase) return kase.error();
    if (!*kase) return {};
    const config::Service* service = c.find_service((*kase)->service);
    if (!service) return {};
    auto limited = notice_limit_reached(**kase, notify->email);
    if (!limited) return limited.error();
    if (*limited) return {};
    mail::TemplateContext t =
        context_for(c, **kase, notify, notify->email, 0, in_.message ? in_.message->subject() : "");
    const config::Agent* current = c.find_agent(referent);
    t.refusal = mail::RefusalInfo{text, current ? current->name : ""};
    mail::NoticeInput n;
    n.recipient = {notify->name, notify->email};
    n.sender = {service->name, service->address};
    if (in_.message && !in_.message->message_id().empty())
        n.thread_ids = {in_.message->message_id()};
    n.gateway_hostname = c.gateway.hostname;
    n.message_id_token = new_id("ref");
    n.date = d_.clock->now();
    auto bytes = mail::notice(mail::TemplateName::reply_refused, *d_.templates, t, n);
    if (!bytes) return util::Error::permanent(util::cat("notice: ", bytes.refusal().reason));
    const cases::Case& k = **kase;
    Out out{"reply_refused",          &k,   util::cat(n.message_id_token, "@", c.gateway.hostname),
            service->address,         "",   notify->email,
            std::move(bytes).value(), false};
    out.key = agent_message_key(in_, out.kind, k.id, notify->id);
    return queue(out);
}

util::Status Flow::agent() {
    const config::Config& c = *d_.config;
    std::optional<cases::TokenClaims> claims;
    for (const std::string& rcpt : in_.envelope.recipients)
        if (auto sub = subaddress(rcpt))
            if (auto t = d_.keys->verify(*sub); t && t->purpose == cases::TokenPurpose::agent_reply)
                claims = t;
    if (!claims)
        return refuse_agent(std::nullopt, "no_token", "no agent reply token among the recipients");
    const std::int64_t case_id = claims->case_id;
    const mail::MailClass cls = in_.cls.mail_class;
    if (cls != mail::MailClass::human)
        return refuse_agent(
            case_id, "automatic",
            util::cat(mail::to_string(cls), " (", in_.cls.reason, "): never sent to the citizen"));
    if (!in_.message)
        return refuse_agent(
            case_id, "unreadable", util::cat("unreadable reply: ", in_.refusal),
            agent_by_address(c, in_.envelope.mail_from),
            sentence(c, "le message n’a pas pu être lu.", "the message could not be read."));
    // The notice of a refusal goes to the configured agent the envelope names (where a bounce
    // would go), at their configured address, never to an address taken from the message.
    const config::Agent* envelope_agent = agent_by_address(c, in_.envelope.mail_from);
    auto from = in_.message->from();
    if (!from || in_.message->header_count("From") != 1)
        return refuse_agent(case_id, "bad_from", "From is not exactly one mailbox", envelope_agent,
                            sentence(c, "l’en-tête From doit contenir une seule adresse, la vôtre.",
                                     "the From header must hold exactly one address, yours."));
    const config::Agent* agent = agent_by_address(c, from->address);
    if (!agent)
        return refuse_agent(case_id, "not_an_agent", "From is not a configured agent",
                            envelope_agent,
                            sentence(c, "l’adresse d’expédition n’est pas celle d’un agent.",
                                     "the sending address is not an agent's."));
    if (envelope_agent != agent)
        return refuse_agent(case_id, "envelope_mismatch",
                            "envelope sender is not the agent of From", envelope_agent,
                            sentence(c, "l’adresse d’enveloppe ne correspond pas à l’expéditeur.",
                                     "the envelope address does not match the sender."));
    auto party = d_.store->agent_party(agent->id);
    if (!party) return party.error();
    if (*party != claims->party)
        return refuse_agent(case_id, "another_agents_token",
                            util::cat("token was given to another agent, not ", agent->id), agent,
                            sentence(c, "vous avez répondu à un message adressé à un autre agent.",
                                     "you answered a message addressed to another agent."));
    if (auto problem = authentication_problem(c, *in_.message, from->domain()))
        return refuse_agent(case_id, "not_authenticated", *problem, agent,
                            sentence(c, "le message n’a pas pu être authentifié (DKIM ou DMARC).",
                                     "the message could not be authenticated (DKIM or DMARC)."));
    auto check = d_.store->check_agent(case_id, agent->id);
    if (!check) return check.error();
    if (check->verdict != cases::AgentVerdict::referent &&
        check->verdict != cases::AgentVerdict::delegate) {
        const bool former = check->verdict == cases::AgentVerdict::former_referent;
        return refuse_agent(
            case_id, former ? "former_referent" : "not_on_case",
            util::cat(agent->id, " is ", cases::to_string(check->verdict), "; referent is ",
                      check->current.empty() ? "none" : check->current),
            agent,
            former ? sentence(c, "le dossier a changé de référent.", "the case has a new referent.")
                   : sentence(c, "vous n’êtes ni le référent du dossier ni son suppléant.",
                              "you are neither the case's referent nor their delegate."),
            check->current);
    }
    const cases::Case& kase = *check->case_;
    const config::Service* service = c.find_service(kase.service);
    if (!service) return util::Error::permanent(util::cat("unknown service ", kase.service));
    auto reply_address = citizen_reply_address(c, *d_.keys, kase);
    auto agent_address = agent_reply_address(c, *d_.keys, kase, *party);
    if (!reply_address) return reply_address.error();
    if (!agent_address) return agent_address.error();
    auto thread = d_.store->citizen_thread(kase.id, c.gateway.limits.max_thread_keys);
    if (!thread) return thread.error();

    mail::RewriteInput r;
    r.case_number = kase.number;
    r.citizen = {kase.citizen.name, kase.citizen.address};
    r.citizen_reply_address = *reply_address;
    r.citizen_message_ids = *thread;
    r.identity = {agent->name, agent->email};
    r.agent_reply_address = *agent_address;
    r.gateway_hostname = c.gateway.hostname;
    r.message_id = util::cat(new_id("rep"), "@", c.gateway.hostname);
    r.date = d_.clock->now();
    r.templates = d_.templates;
    r.context = context_for(c, kase, agent, *reply_address, 0, in_.message->subject());
    auto out = mail::rewrite(*in_.message, r);
    if (!out)
        return refuse_agent(case_id, "rewrite_refused",
                            util::cat("rewrite refused: ", out.refusal().reason), agent,
                            sentence(c,
                                     "votre réponse est vide ou illisible une fois retirés le "
                                     "texte cité et les notes internes.",
                                     "your reply is empty or unreadable once quoted text and "
                                     "internal notes are set aside."));
    Out o{"reply",
          &kase,
          r.message_id,
          *reply_address,
          in_.message->subject(),
          kase.citizen.address,
          std::move(out->bytes),
          true};
    o.key = agent_message_key(in_, o.kind, kase.id, agent->id);
    for (const std::string& note : out->internal_notes)
        o.events.emplace_back("internal_note", note);
    o.events.emplace_back("verified",
                          util::cat(agent->id, " as ", cases::to_string(check->verdict)));
    return queue(o);
}

}  // namespace referent::pipeline
