// referentctl assign: see assign.hpp.
#include "ops/assign.hpp"

#include "cases/open_store.hpp"
#include "cases/token.hpp"
#include "mail/message.hpp"
#include "mail/template.hpp"
#include "ops/check.hpp"
#include "ops/output.hpp"
#include "ops/session.hpp"
#include "pipeline/handover.hpp"
#include "spool/spool.hpp"
#include "util/clock.hpp"
#include "util/random.hpp"

namespace referent::ops {

int assign_command(const std::string& config_path, const std::vector<std::string>& args,
                   std::ostream& out, std::ostream& err) {
    Args a = Args::parse(args, {"--json"}, {"--reason"});
    if (a.has("--help"))
        return out << "usage: referentctl assign CASE AGENT --reason TEXT [--json]\n"
                      "  hand the case over: the citizen is told, AGENT gets the history\n",
               0;
    const std::string reason = a.option("--reason").value_or("");
    if (!a.error.empty() || a.positional.size() != 2 || reason.empty()) {
        err << "referentctl: assign: want CASE AGENT --reason TEXT\n";
        return 2;
    }
    const std::string& number = a.positional[0];
    const std::string& agent = a.positional[1];
    mail::init();
    Checked checked = load_checked(config_path);
    if (!checked.config) {
        for (const auto& p : checked.problems) err << p << '\n';
        return 2;
    }
    auto config = std::make_shared<const config::Config>(std::move(*checked.config));
    util::SystemClock clock;
    util::SystemRandom random;
    auto keys = cases::TokenKeys::load(config->gateway.secret_files);
    auto templates = mail::TemplateSet::load(config->organisation);
    if (!keys || !templates) {
        err << "referentctl: assign: " << (keys ? templates.error() : keys.error()).message << '\n';
        return 2;
    }
    auto store = cases::open_case_store(config, clock);
    if (!store) {
        err << "referentctl: assign: " << store.error().message << '\n';
        return 1;
    }
    auto spool = spool::Spool::open(config->gateway.spool, clock, random);
    if (!spool) {
        err << "referentctl: assign: " << spool.error().message << '\n';
        return 1;
    }
    pipeline::ProcessorDeps deps;
    deps.config = config;
    deps.spool = &*spool;
    deps.store = store->get();
    deps.keys = &*keys;
    deps.templates = &*templates;
    deps.clock = &clock;
    auto done = pipeline::hand_over(deps, number, agent, reason);
    if (!done) {
        err << "referentctl: assign: " << done.error().message << '\n';
        return done.error().is_temporary() ? 1 : 2;
    }
    const std::string& was = done->handover.previous;
    if (a.has("--json"))
        return out << JsonObject()
                          .text("case", number)
                          .text("referent", agent)
                          .text("previous", was)
                          .number("queued", static_cast<std::int64_t>(done->items.size()))
                          .str()
                   << '\n',
               0;
    out << number << ": " << agent << " (was " << (was.empty() ? "the fallback mailbox" : was)
        << "), " << done->items.size() << " messages queued\n";
    return 0;
}

}  // namespace referent::ops
