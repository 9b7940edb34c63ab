// The dry run: see explain.hpp.
#include "pipeline/explain.hpp"

#include <algorithm>
#include <set>

#include "pipeline/flow.hpp"

namespace referent::pipeline {

namespace {

struct Rollback {};  // leaves the store group: its transaction is rolled back

}  // namespace

util::Result<Explanation> explain(const ProcessorDeps& deps, const std::string& raw,
                                  const spool::Envelope& envelope) {
    const config::Config& c = *deps.config;
    Explanation out;
    Inbound in;
    in.spool_id = "explain";
    in.key = c.gateway.hostname + "/explain";
    in.envelope = envelope;
    in.raw = raw;
    auto parsed = mail::parse(in.raw, mail::parse_limits(c.gateway.limits));
    if (parsed) {
        in.message = std::move(parsed).value();
        mail::EnvelopeInfo e;
        e.mail_from = envelope.mail_from;
        e.recipients = envelope.recipients;
        e.role = envelope.role == "internal" ? mail::ListenerRole::internal
                                             : mail::ListenerRole::public_;
        in.cls = mail::classify(*in.message, e, mail::classify_config(c));
    } else {
        in.refusal = parsed.refusal().reason;
        in.cls.reason = "unparsed: " + in.refusal;
        out.refusal = in.refusal;
    }
    out.classification = in.cls;
    util::Error store_error = util::Error::temporary("");
    bool store_failed = false;
    try {
        // The body always leaves by Rollback; a group that returns failed to begin.
        if (util::Status g = deps.store->group([&] {
                const auto started = std::chrono::floor<std::chrono::seconds>(deps.clock->now());
                Flow flow(deps, in);
                util::Status st = envelope.role == "internal" ? flow.agent() : flow.citizen();
                if (!st) out.error = st.error().message;
                out.would_send = std::move(flow.items);
                // The decisions just written, read back from each case the flow touched.
                std::set<std::string> numbers;
                for (const auto& m : out.would_send) numbers.insert(m.item.case_number);
                for (const std::string& n : numbers) {
                    auto file = deps.store->case_file(n);
                    if (!file) {
                        store_error = file.error();
                        store_failed = true;
                        break;
                    }
                    for (const cases::Event& e : file->events)
                        if (e.at >= started) out.events.push_back(e);
                }
                throw Rollback{};
            });
            !g)
            return g.error();
    } catch (const Rollback&) {
    }
    if (store_failed) return store_error;
    return out;
}

}  // namespace referent::pipeline
