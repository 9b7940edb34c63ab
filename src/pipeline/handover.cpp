// A case changes hands: see handover.hpp.
#include "pipeline/handover.hpp"

#include <cstdio>

#include "mail/forward.hpp"
#include "mail/notice.hpp"
#include "pipeline/flow.hpp"
#include "util/cat.hpp"
#include "util/log.hpp"

namespace referent::pipeline {

util::Status Flow::handover(const cases::Handover& h) {
    const config::Config& c = *d_.config;
    const cases::Case& kase = h.case_;
    const config::Service* service = c.find_service(kase.service);
    const config::Agent* agent = c.find_agent(kase.referent);
    if (!service || !agent) return util::Error::permanent("handover: unknown service or agent");
    auto reply = citizen_reply_address(c, *d_.keys, kase);
    if (!reply) return reply.error();
    auto party = d_.store->agent_party(agent->id);
    if (!party) return party.error();
    auto agent_address = agent_reply_address(c, *d_.keys, kase, *party);
    if (!agent_address) return agent_address.error();

    // The citizen: who answers from now on, with the new card.
    mail::TemplateContext t = context_for(c, kase, agent, *reply, 0, "");
    t.handover = mail::HandoverInfo{mail::HandoverReason::reassigned};
    auto thread = d_.store->citizen_thread(kase.id, c.gateway.limits.max_thread_keys);
    if (!thread) return thread.error();
    mail::NoticeInput n;
    n.recipient = {kase.citizen.name, kase.citizen.address};
    n.citizen_reply_address = *reply;
    n.sender = {service->name, service->address};
    n.thread_ids = *thread;
    n.gateway_hostname = c.gateway.hostname;
    n.message_id_token = new_id("hnd");
    n.date = d_.clock->now();
    auto notice = mail::notice(mail::TemplateName::handover, *d_.templates, t, n);
    if (!notice) return util::Error::permanent(util::cat("notice: ", notice.refusal().reason));
    if (auto st = queue({"handover", &kase, util::cat(n.message_id_token, "@", c.gateway.hostname),
                         *reply, "", kase.citizen.address, std::move(notice).value(), true});
        !st)
        return st;

    // The new referent: the history, as a forward they can answer.
    std::vector<std::string> raws;
    std::vector<std::string> forwards;
    std::uint32_t earlier = 0;
    for (const cases::MessageRecord& m : h.history) {
        if (m.direction == cases::Direction::out && m.kind == "forward") {
            if (!m.message_id.empty()) forwards.push_back(m.message_id);
            continue;
        }
        if (m.direction == cases::Direction::in) ++earlier;
        if (m.kind != "human" && m.kind != "reply") continue;
        auto raw = d_.store->message_raw(m.id);
        if (!raw) return raw.error();
        if (*raw) raws.push_back(**raw);
    }
    mail::ForwardInput f;
    f.case_number = kase.number;
    f.citizen = {kase.citizen.name, kase.citizen.address};
    f.referent_address = agent->email;
    f.agent_reply_address = *agent_address;
    f.earlier_forward_ids = forwards;
    f.gateway_hostname = c.gateway.hostname;
    f.message_id_token = new_id("hst");
    f.date = d_.clock->now();
    f.templates = d_.templates;
    f.context = context_for(c, kase, agent, kase.citizen.address, earlier, "");
    const std::string note =
        c.organisation.language == "fr"
            ? util::cat("Ce dossier vous est confié",
                        h.previous.empty() ? "" : " (précédemment : ", h.previous,
                        h.previous.empty() ? "" : ")",
                        ". Ses messages sont joints, du plus ancien au plus récent.")
            : util::cat(
                  "This case is now yours", h.previous.empty() ? "" : " (previously: ", h.previous,
                  h.previous.empty() ? "" : ")", ". Its messages are attached, oldest first.");
    auto history = mail::forward_history(raws, f, note, "");
    if (!history) return util::Error::permanent(util::cat("history: ", history.refusal().reason));
    return queue({"history", &kase, util::cat(f.message_id_token, "@", c.gateway.hostname),
                  service->address, "", agent->email, std::move(history).value(), false});
}

util::Result<HandoverOutcome> hand_over(const ProcessorDeps& deps, const std::string& number,
                                        const std::string& agent, const std::string& reason) {
    auto h = deps.store->reassign(number, agent, reason);
    if (!h) return h.error();
    // Items are named after the handover event: a fresh id, as the spool names its own.
    char id[40];
    std::snprintf(
        id, sizeof id, "h%llx%llx", static_cast<unsigned long long>(h->case_.id),
        static_cast<unsigned long long>(std::chrono::duration_cast<std::chrono::microseconds>(
                                            deps.clock->now().time_since_epoch())
                                            .count()));
    Inbound in;
    in.spool_id = id;
    in.key = util::cat(deps.config->gateway.hostname, "/", id);
    Flow flow(deps, in);
    if (auto st = flow.handover(*h); !st) return st.error();
    spool::Outgoing outgoing(*deps.spool);
    if (auto st = outgoing.commit(flow.items); !st) return st.error();
    HandoverOutcome out{std::move(h).value(), {}};
    for (const auto& m : flow.items) out.items.push_back(m.item.id);
    util::log_info("pipeline", util::cat(number, ": handed over to ", agent, " (", reason, ")"));
    return out;
}

}  // namespace referent::pipeline
