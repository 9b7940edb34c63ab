// Mail from the internal listener: a referent answering a citizen from their own mail client.
// Nothing reaches a citizen unless every check holds (verified token of this case naming this
// agent, the agent is the case's referent or its delegate today, From and envelope sender are
// the agent's, and the trusted Authentication-Results says pass when configured).
#include "cases/threading.hpp"
#include "mail/rewrite.hpp"
#include "pipeline/flow.hpp"
#include "util/cat.hpp"
#include "util/log.hpp"

namespace referent::pipeline {

namespace {

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

// RFC 8601: the topmost Authentication-Results is the one our own MX added; it counts only when
// its authserv-id is trusted, and then DKIM or DMARC must have passed.
std::optional<std::string> authentication_problem(const config::Config& c, const mail::Message& m) {
    const auto& trusted = c.gateway.trusted_authserv_ids;
    if (trusted.empty()) return std::nullopt;
    std::vector<std::string> all = m.raw_headers("Authentication-Results");
    if (all.empty()) return "no Authentication-Results header";
    const std::string top = lower(all.front());
    const std::string id = trim(std::string_view(top).substr(0, top.find(';')));
    bool known = false;
    for (const std::string& t : trusted) known = known || lower(t) == id;
    if (!known) return "topmost Authentication-Results is not from a trusted server";
    if (top.find("dkim=pass") == std::string::npos && top.find("dmarc=pass") == std::string::npos)
        return "neither DKIM nor DMARC passed";
    return std::nullopt;
}

}  // namespace

util::Status Flow::refuse_agent(std::optional<std::int64_t> case_id, const std::string& why) {
    util::log_info("pipeline", util::cat(in_.spool_id, ": agent reply refused: ", why));
    return d_.store->record_event(case_id, "refused", util::cat(in_.spool_id, ": ", why));
}

util::Status Flow::agent() {
    const config::Config& c = *d_.config;
    std::optional<cases::TokenClaims> claims;
    for (const std::string& rcpt : in_.envelope.recipients)
        if (auto sub = subaddress(rcpt))
            if (auto t = d_.keys->verify(*sub); t && t->purpose == cases::TokenPurpose::agent_reply)
                claims = t;
    if (!claims) return refuse_agent(std::nullopt, "no agent reply token among the recipients");
    const std::int64_t case_id = claims->case_id;
    const mail::MailClass cls = in_.cls.mail_class;
    if (cls != mail::MailClass::human)
        return refuse_agent(case_id, util::cat(mail::to_string(cls), " (", in_.cls.reason,
                                               "): never sent to the citizen"));
    if (!in_.message) return refuse_agent(case_id, util::cat("unreadable reply: ", in_.refusal));
    auto from = in_.message->from();
    if (!from || in_.message->header_count("From") != 1)
        return refuse_agent(case_id, "From is not exactly one mailbox");
    const config::Agent* agent = agent_by_address(c, from->address);
    if (!agent) return refuse_agent(case_id, "From is not a configured agent");
    if (agent_by_address(c, in_.envelope.mail_from) != agent)
        return refuse_agent(case_id, "envelope sender is not the agent of From");
    auto party = d_.store->agent_party(agent->id);
    if (!party) return party.error();
    if (*party != claims->party)
        return refuse_agent(case_id,
                            util::cat("token was given to another agent, not ", agent->id));
    if (auto problem = authentication_problem(c, *in_.message))
        return refuse_agent(case_id, *problem);
    auto check = d_.store->check_agent(case_id, agent->id);
    if (!check) return check.error();
    if (check->verdict != cases::AgentVerdict::referent &&
        check->verdict != cases::AgentVerdict::delegate)
        return refuse_agent(
            case_id, util::cat(agent->id, " is ", cases::to_string(check->verdict),
                               "; referent is ", check->current.empty() ? "none" : check->current));
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
    if (!out) return refuse_agent(case_id, util::cat("rewrite refused: ", out.refusal().reason));
    for (const std::string& note : out->internal_notes)
        if (auto st = d_.store->record_event(case_id, "internal_note", note); !st) return st;
    if (auto st = d_.store->record_event(
            case_id, "verified", util::cat(agent->id, " as ", cases::to_string(check->verdict)));
        !st)
        return st;
    Out o{"reply",
          &kase,
          r.message_id,
          *reply_address,
          in_.message->subject(),
          kase.citizen.address,
          std::move(out->bytes),
          true};
    return queue(o);
}

}  // namespace referent::pipeline
