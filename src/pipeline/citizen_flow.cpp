// Mail from the public listener: citizens, their auto-replies, and bounces of our mail to them.
#include <algorithm>

#include "cases/threading.hpp"
#include "mail/forward.hpp"
#include "mail/notice.hpp"
#include "mail/template_context.hpp"
#include "pipeline/flow.hpp"
#include "util/cat.hpp"
#include "util/log.hpp"

namespace referent::pipeline {

namespace {

cases::ThreadKeys thread_keys(const Inbound& in, std::optional<cases::TokenClaims> token,
                              std::size_t max_keys) {
    cases::ThreadKeys k;
    if (token && token->purpose == cases::TokenPurpose::citizen_reply) {
        k.token_case = token->case_id;
        k.token_party = token->party;
    }
    if (in.message) {
        // In-Reply-To first, then References newest first: the likeliest keys are looked up.
        for (const std::string& id : in.message->in_reply_to()) k.references.push_back(id);
        std::vector<std::string> refs = in.message->references();
        for (auto it = refs.rbegin(); it != refs.rend(); ++it) k.references.push_back(*it);
        if (k.references.size() > max_keys) k.references.resize(max_keys);
        k.subject_tags = cases::subject_case_numbers(in.message->subject(), max_keys);
        if (auto from = in.message->from()) k.sender = from->address;
    }
    if (k.sender.empty()) k.sender = in.envelope.mail_from;
    return k;
}

}  // namespace

std::string Flow::new_id(std::string_view what) const {
    return util::cat(in_.spool_id, ".", what);
}

util::Status Flow::queue(const Out& o) {
    const config::Config& c = *d_.config;
    // The item's number is its place among the message's outbound messages, taken before
    // anything returns: a replay that finds an earlier one delivered already numbers the later
    // ones as the first pass did, so it finds their items instead of making them again.
    const int number = next_item_++;
    cases::OutboundRequest r;
    r.key = o.key.empty() ? util::cat(in_.key, "/", o.kind, "/", o.rcpt) : o.key;
    r.case_id = o.case_->id;
    r.kind = o.kind;
    r.message_id = o.message_id;
    r.sender = o.sender;
    r.subject = o.subject;
    r.recipients = {o.rcpt};
    r.raw = o.bytes;
    r.events = o.events;
    auto rec = d_.store->record_outbound(r);
    if (!rec) return rec.error();
    if (rec->states.front() != cases::DeliveryState::queued) return {};  // a replay: done
    // Recorded by another gateway sharing the store (both saw the same deadline due): its
    // item is in its own outgoing/, or it makes it again at its restart. Or recorded for
    // another inbound message under the same key (a referent's reply delivered twice). Not twice.
    if (rec->replay && rec->message_id != o.message_id) {
        util::log_info("pipeline", util::cat(in_.spool_id, ": ", o.kind, " recorded before as <",
                                             rec->message_id, ">: not queued again"));
        return {};
    }
    spool::OutgoingMessage m;
    m.item.id = util::cat(in_.spool_id, "o", std::to_string(number));
    // A replay whose item still waits in outgoing/ adds nothing (found_waiting); one whose
    // item a crash lost (recorded, never committed) makes it again.
    if (rec->replay && spool::Outgoing(*d_.spool).item(m.item.id)) {
        found_waiting = true;
        return {};
    }
    m.item.source = in_.spool_id;
    m.item.kind = o.kind;
    m.item.case_number = o.case_->number;
    m.item.delivery = rec->deliveries.front();
    m.item.rcpt = o.rcpt;
    m.item.created = d_.clock->now();
    m.item.next_attempt = m.item.created;
    if (o.verp) {
        auto from = bounce_address(c, *d_.keys, *o.case_, m.item.delivery);
        if (!from) return from.error();
        m.item.mail_from = *from;
    } else {
        const config::Service* s = c.find_service(o.case_->service);
        m.item.mail_from = s ? s->address : "";
    }
    m.bytes = o.bytes;
    items.push_back(std::move(m));
    return {};
}

util::Status Flow::forward(const cases::InboundOutcome& o, const config::Service& service) {
    const config::Config& c = *d_.config;
    const cases::Case& kase = *o.case_;
    const config::Agent* agent = o.recipient ? c.find_agent(*o.recipient) : nullptr;
    const config::Agent* referent = c.find_agent(kase.referent);
    // Nobody available: the service's fallback mailbox, else its manager; with neither, the
    // message stays in the case, and the operator is warned (configure a fallback).
    std::string to = agent ? agent->email : service.fallback.value_or(service.manager.value_or(""));
    if (to.empty()) {
        util::log_warning("pipeline", util::cat(in_.spool_id, ": case=", kase.number,
                                                " has no referent available and service ",
                                                service.id, " no fallback nor manager"));
        return d_.store->record_event(kase.id, "unrouted",
                                      "no referent available and no fallback mailbox");
    }
    std::uint32_t party = 0;
    if (agent) {
        auto p = d_.store->agent_party(agent->id);
        if (!p) return p.error();
        party = *p;
    }
    auto reply_to = agent_reply_address(c, *d_.keys, kase, party);
    if (!reply_to) return reply_to.error();
    mail::ForwardInput f;
    f.case_number = kase.number;
    f.citizen = {kase.citizen.name, kase.citizen.address};
    f.referent_address = to;
    f.agent_reply_address = *reply_to;
    f.earlier_forward_ids = o.earlier_forwards;
    f.gateway_hostname = c.gateway.hostname;
    f.message_id_token = new_id("fwd");
    f.date = d_.clock->now();
    f.templates = d_.templates;
    const std::string subject = in_.message ? in_.message->subject() : "";
    f.context = context_for(c, kase, referent, kase.citizen.address, o.earlier_messages, subject);
    if (o.absence && agent && referent && agent != referent) {  // a delegate reads it: "pour …"
        mail::AbsenceInfo a;
        a.delegate = mail::make_card(*agent, service, c.organisation, agent->email);
        a.until = mail::format_date(
            {static_cast<int>(o.absence->to.year()), static_cast<unsigned>(o.absence->to.month()),
             static_cast<unsigned>(o.absence->to.day())},
            c.organisation.language);
        f.context.absence = a;
    }
    auto bytes = in_.message ? mail::forward(*in_.message, in_.raw, f)
                             : mail::forward_wrapped(in_.raw, f, in_.refusal, subject);
    if (!bytes) return util::Error::permanent(util::cat("forward: ", bytes.refusal().reason));
    Out out{"forward",
            &kase,
            util::cat(f.message_id_token, "@", c.gateway.hostname),
            service.address,
            subject,
            to,
            std::move(bytes).value(),
            false};
    if (o.flagged)
        if (auto st = d_.store->record_event(kase.id, "notified",
                                             "referent told: sender is not "
                                             "the case's citizen");
            !st)
            return st;
    return queue(out);
}

util::Result<bool> Flow::notice_limit_reached(const cases::Case& kase, const std::string& rcpt) {
    auto sent = d_.store->notices_sent(rcpt);
    if (!sent) return sent.error();
    const std::uint32_t cap = d_.config->gateway.limits.max_notices_per_day;
    if (*sent < cap) return false;
    util::log_info("pipeline", util::cat(in_.spool_id, ": notice to ", kase.number,
                                         " withheld: max_notices_per_day reached"));
    if (auto st = d_.store->record_event(
            kase.id, "rate_limited",
            util::cat("automatic messages to this address in 24 h: ", std::to_string(*sent)));
        !st)
        return st.error();
    return true;
}

util::Status Flow::notice_to_citizen(mail::TemplateName name, const cases::InboundOutcome& o,
                                     const config::Service& service) {
    const config::Config& c = *d_.config;
    const cases::Case& kase = *o.case_;
    auto limited = notice_limit_reached(kase, kase.citizen.address);
    if (!limited) return limited.error();
    if (*limited) return {};
    auto reply = citizen_reply_address(c, *d_.keys, kase);
    if (!reply) return reply.error();
    const config::Agent* referent = c.find_agent(kase.referent);
    const std::string subject = in_.message ? in_.message->subject() : "";
    mail::TemplateContext t = context_for(c, kase, referent, *reply, o.earlier_messages, subject);
    if (name == mail::TemplateName::absence && o.absence) {
        mail::AbsenceInfo a;
        const config::Agent* delegate = c.find_agent(o.absence->delegate);
        if (delegate) a.delegate = mail::make_card(*delegate, service, c.organisation, *reply);
        a.until = mail::format_date(
            {static_cast<int>(o.absence->to.year()), static_cast<unsigned>(o.absence->to.month()),
             static_cast<unsigned>(o.absence->to.day())},
            c.organisation.language);
        t.absence = a;
    }
    mail::NoticeInput n;
    n.recipient = {kase.citizen.name, kase.citizen.address};
    n.citizen_reply_address = *reply;
    n.sender = {service.name, service.address};
    if (in_.message && !in_.message->message_id().empty())
        n.thread_ids = {in_.message->message_id()};
    n.gateway_hostname = c.gateway.hostname;
    const std::string what = name == mail::TemplateName::absence ? "abs" : "ack";
    n.message_id_token = new_id(what);
    n.date = d_.clock->now();
    auto bytes = mail::notice(name, *d_.templates, t, n);
    if (!bytes) return util::Error::permanent(util::cat("notice: ", bytes.refusal().reason));
    Out out{name == mail::TemplateName::absence ? "absence" : "acknowledgement",
            &kase,
            util::cat(n.message_id_token, "@", c.gateway.hostname),
            *reply,
            "",
            kase.citizen.address,
            std::move(bytes).value(),
            true};
    return queue(out);
}

// A bounce of our mail to a citizen, recognised by its VERP token: the delivery failed; the
// referent hears of it with the citizen's address and the remote server's words.
util::Status Flow::bounce(const cases::TokenClaims& claims) {
    mail::BounceReport report;
    if (in_.cls.bounce) report = *in_.cls.bounce;
    return delivery_failed(claims.case_id, claims.party,
                           report.status.empty() ? "5.0.0" : report.status, report.diagnostic_code);
}

util::Status Flow::delivery_failed(std::int64_t case_id, std::int64_t delivery,
                                   const std::string& status, const std::string& diagnostic) {
    const config::Config& c = *d_.config;
    auto kase = d_.store->case_by_id(case_id);
    if (!kase) return kase.error();
    if (!*kase) return {};
    const std::string detail = util::cat(status, " ", diagnostic);
    if (auto st = d_.store->set_delivery(delivery, cases::DeliveryState::failed, detail);
        !st && st.error().is_temporary())
        return st;
    if (auto st = d_.store->record_event((*kase)->id, "delivery_failed", detail); !st) return st;
    const config::Agent* referent = c.find_agent((*kase)->referent);
    const config::Service* service = c.find_service((*kase)->service);
    if (!referent || !service) return {};
    auto limited = notice_limit_reached(**kase, referent->email);
    if (!limited) return limited.error();
    if (*limited) return {};
    mail::TemplateContext t = context_for(c, **kase, referent, referent->email, 0, "");
    t.failure = mail::FailureInfo{(*kase)->citizen.address, status, diagnostic};
    mail::NoticeInput n;
    n.recipient = {referent->name, referent->email};
    n.sender = {service->name, service->address};
    n.gateway_hostname = c.gateway.hostname;
    n.message_id_token = new_id("dsn");
    n.date = d_.clock->now();
    auto bytes = mail::notice(mail::TemplateName::delivery_failure, *d_.templates, t, n);
    if (!bytes) return util::Error::permanent(util::cat("notice: ", bytes.refusal().reason));
    const cases::Case& k = **kase;
    Out out{"delivery_failure",       &k,   util::cat(n.message_id_token, "@", c.gateway.hostname),
            service->address,         "",   referent->email,
            std::move(bytes).value(), false};
    return queue(out);
}

util::Status Flow::citizen_for(const config::Service& service,
                               std::optional<cases::TokenClaims> token) {
    const config::Config& c = *d_.config;
    if (token && token->purpose == cases::TokenPurpose::bounce) return bounce(*token);
    const mail::MailClass cls = in_.cls.mail_class;
    if (cls == mail::MailClass::loop || cls == mail::MailClass::bounce) {
        util::log_info("pipeline", util::cat(in_.spool_id, ": ", mail::to_string(cls),
                                             " dropped: ", in_.cls.reason));
        return d_.store->record_event(std::nullopt, util::cat(mail::to_string(cls), "_dropped"),
                                      util::cat(in_.spool_id, ": ", in_.cls.reason));
    }
    cases::InboundRequest r;
    r.spool_id = util::cat(in_.key, "/", service.id);
    r.service = service.id;
    r.keys = thread_keys(in_, token, c.gateway.limits.max_thread_keys);
    if (in_.message) {
        if (auto from = in_.message->from()) r.sender_name = from->display_name;
        r.message_id = in_.message->message_id();
        r.subject = in_.message->subject();
    }
    r.kind = std::string(mail::to_string(cls));
    r.may_open_case = cls == mail::MailClass::human;
    r.raw = in_.raw;
    auto o = d_.store->record_inbound(r);
    if (!o) return o.error();
    if (!o->case_ || cls != mail::MailClass::human) return {};
    util::log_info("pipeline", util::cat(in_.spool_id, ": case=", o->case_->number,
                                         " rule=", cases::to_string(o->rule),
                                         o->created ? " created" : "", o->replay ? " replay" : ""));
    // Its first copy was forwarded (and acknowledged): the referent gets it once.
    if (o->rule == cases::ThreadRule::duplicate) return {};
    if (auto st = forward(*o, service); !st) return st;
    if (o->created && service.acknowledge)
        if (auto st = notice_to_citizen(mail::TemplateName::acknowledgement, *o, service); !st)
            return st;
    if (o->tell_absence)
        if (auto st = notice_to_citizen(mail::TemplateName::absence, *o, service); !st) return st;
    return {};
}

util::Status Flow::citizen() {
    const config::Config& c = *d_.config;
    // One pass per service addressed (a message to two services opens two cases). Recipients
    // with a verified token go first: a message sent both to a case's reply address and to its
    // service's address joins that case, whatever the order of the envelope.
    struct Pass {
        const config::Service* service;
        std::optional<cases::TokenClaims> token;
    };
    std::vector<Pass> passes;
    for (const std::string& rcpt : in_.envelope.recipients) {
        const config::Service* s = service_of(c, rcpt);
        // Accepted for a service the configuration no longer has: kept for an operator.
        if (!s) return util::Error::permanent(util::cat("no configured service for a recipient"));
        std::optional<cases::TokenClaims> token;
        if (auto sub = subaddress(rcpt)) token = d_.keys->verify(*sub);
        passes.push_back({s, std::move(token)});
    }
    std::stable_partition(passes.begin(), passes.end(),
                          [](const Pass& p) { return p.token.has_value(); });
    std::vector<const config::Service*> done;
    for (const Pass& p : passes) {
        bool seen = false;
        for (const config::Service* x : done) seen = seen || x == p.service;
        if (seen && !p.token) continue;
        done.push_back(p.service);
        if (auto st = citizen_for(*p.service, p.token); !st) return st;
    }
    return {};
}

}  // namespace referent::pipeline
