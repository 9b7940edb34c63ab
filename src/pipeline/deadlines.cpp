// Deadlines: see deadlines.hpp.
#include "pipeline/deadlines.hpp"

#include "cases/calendar.hpp"
#include "mail/notice.hpp"
#include "pipeline/flow.hpp"
#include "util/cat.hpp"
#include "util/log.hpp"

namespace referent::pipeline {

namespace {

constexpr std::size_t max_per_pass = 10000;  // the rest waits for the next pass

std::string compact_day(cases::Day d) {  // 20261205
    return util::cat(std::to_string(static_cast<int>(d.year())),
                     std::to_string(static_cast<unsigned>(d.month()) + 100).substr(1),
                     std::to_string(static_cast<unsigned>(d.day()) + 100).substr(1));
}

std::string iso_day(cases::Day d) {  // 2026-12-05
    const std::string c = compact_day(d);
    return util::cat(c.substr(0, 4), "-", c.substr(4, 2), "-", c.substr(6, 2));
}

}  // namespace

util::Status Flow::deadline(const cases::Case& kase, mail::TemplateName name) {
    const config::Config& c = *d_.config;
    const config::Service* service = c.find_service(kase.service);
    if (!service) return {};
    const config::Agent* referent = c.find_agent(kase.referent);
    std::string rcpt;
    mail::Mailbox to;
    if (name == mail::TemplateName::escalation) {
        if (!service->manager) return {};
        rcpt = *service->manager;
        to = {"", rcpt};
    } else {
        auto absences = d_.store->absences();
        if (!absences) return absences.error();
        std::vector<cases::AbsencePeriod> periods;
        for (const auto& a : *absences) periods.push_back({a.agent, a.from, a.to, a.delegate});
        const cases::Covering cov =
            cases::covering(kase.referent, periods, cases::local_date(d_.clock->now()));
        const config::Agent* reader = cov.agent ? c.find_agent(*cov.agent) : nullptr;
        if (reader) {
            rcpt = reader->email;
            to = {reader->name, reader->email};
        } else if (service->fallback) {
            rcpt = *service->fallback;
            to = {service->name, rcpt};
        } else {
            return {};
        }
    }
    mail::TemplateContext t =
        context_for(c, kase, referent, referent ? referent->email : "", 0, "");
    mail::NoticeInput n;
    n.recipient = to;
    n.sender = {service->name, service->address};
    n.gateway_hostname = c.gateway.hostname;
    const bool reminder = name == mail::TemplateName::reminder;
    n.message_id_token = new_id(reminder ? "rem" : "esc");
    n.date = d_.clock->now();
    auto bytes = mail::notice(name, *d_.templates, t, n);
    if (!bytes) return util::Error::permanent(util::cat("notice: ", bytes.refusal().reason));
    Out out{reminder ? "reminder" : "escalation",
            &kase,
            util::cat(n.message_id_token, "@", c.gateway.hostname),
            service->address,
            "",
            rcpt,
            std::move(bytes).value(),
            false};
    out.events = {
        {reminder ? "reminded" : "escalated",
         util::cat(reminder ? "due " : "overdue since ", iso_day(kase.due), ", to ", rcpt)}};
    return queue(out);
}

util::Result<std::size_t> check_deadlines(const ProcessorDeps& deps) {
    const config::Config& c = *deps.config;
    const cases::Holidays holidays = cases::holidays_from(c.organisation.holidays);
    const cases::Day today = cases::local_date(deps.clock->now());
    const cases::Day until = cases::add_working_days(today, 1, holidays);
    auto due = deps.store->awaiting_answer(until, max_per_pass);
    if (!due) return due.error();
    std::vector<spool::OutgoingMessage> items;
    util::Status first_error;
    util::Status group = deps.store->group([&] {
        for (const cases::Case& kase : *due) {
            const bool overdue = std::chrono::sys_days(today) > std::chrono::sys_days(kase.due);
            // The key names the case, its due date and the kind: once each, across restarts.
            Inbound in;
            in.spool_id = util::cat("dl", std::to_string(kase.id), "d", compact_day(kase.due),
                                    overdue ? "e" : "r");
            in.key = util::cat("deadline/", kase.number, "/", iso_day(kase.due));
            Flow flow(deps, in);
            const auto name =
                overdue ? mail::TemplateName::escalation : mail::TemplateName::reminder;
            if (util::Status st = flow.deadline(kase, name); !st) {
                util::log_warning("deadlines", util::cat(kase.number, ": ", st.error().message));
                if (first_error) first_error = st;
                continue;
            }
            for (auto& m : flow.items) items.push_back(std::move(m));
        }
    });
    if (!group) return group.error();
    if (util::Status st = spool::Outgoing(*deps.spool).commit(items); !st) return st.error();
    std::vector<std::string> ids;
    for (const auto& m : items) ids.push_back(m.item.id);
    if (!ids.empty() && deps.on_outgoing) deps.on_outgoing(ids);
    if (!ids.empty())
        util::log_info("deadlines", util::cat(std::to_string(ids.size()), " notices queued"));
    if (!first_error) return first_error.error();
    return ids.size();
}

void scheduled_pass(const ProcessorDeps& deps, std::optional<cases::Day>& last_purge) {
    if (auto r = check_deadlines(deps); !r)
        util::log_warning("deadlines", util::cat("pass failed: ", r.error().message));
    const cases::Day today = cases::local_date(deps.clock->now());
    if (last_purge == today) return;
    auto p = deps.store->purge(false);
    if (!p) {
        util::log_warning("purge", util::cat("failed, next pass tries again: ", p.error().message));
        return;
    }
    last_purge = today;
    util::log_info("purge", util::cat("cases=", std::to_string(p->cases),
                                      " messages=", std::to_string(p->messages),
                                      " citizens=", std::to_string(p->citizens)));
}

void Scheduler::start() {
    thread_ = std::thread([this] {
        std::optional<cases::Day> last_purge;
        std::unique_lock lock(mu_);
        while (!stopping_) {
            lock.unlock();
            const ProcessorDeps deps = deps_();
            try {
                scheduled_pass(deps, last_purge);
            } catch (const std::exception& e) {  // a bug: logged, the next pass tries again
                util::log_error("scheduler", e.what());
            }
            lock.lock();
            cv_.wait_for(lock, deps.config->ops.deadline_check, [this] { return stopping_; });
        }
    });
}

void Scheduler::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

}  // namespace referent::pipeline
