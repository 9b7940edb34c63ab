// referentctl explain: see explain_command.hpp.
#include "ops/explain_command.hpp"

#include <fstream>
#include <iterator>

#include "cases/token.hpp"
#include "mail/mailbox.hpp"
#include "mail/message.hpp"
#include "mail/template.hpp"
#include "ops/output.hpp"
#include "ops/session.hpp"
#include "pipeline/explain.hpp"
#include "spool/spool.hpp"
#include "util/random.hpp"

namespace referent::ops {

namespace {

constexpr const char* usage =
    "usage: referentctl explain FILE [--listener public|internal] [--from ADDR] [--to ADDR]\n"
    "                           [--json]\n"
    "  a dry run of the message in FILE: its class, the case it would join or open, the\n"
    "  checks of an agent's reply, and every message the gateway would send; changes nothing\n";

}  // namespace

int explain_command(const std::string& config_path, const std::vector<std::string>& args,
                    std::ostream& out, std::ostream& err) {
    Args a = Args::parse(args, {"--json"}, {"--listener", "--from", "--to"});
    if (a.has("--help")) return out << usage, 0;
    const std::string listener = a.option("--listener").value_or("public");
    if (!a.error.empty() || a.positional.size() != 1 ||
        (listener != "public" && listener != "internal")) {
        err << "referentctl: explain: "
            << (a.error.empty() ? "want FILE [--listener public|internal]" : a.error) << '\n'
            << usage;
        return 2;
    }
    mail::init();
    int rc = 0;
    auto s = open_store(config_path, "explain", err, rc);
    if (!s) return rc;
    const config::Config& c = *s->config;
    std::ifstream f(a.positional[0], std::ios::binary);
    std::string raw((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (!f.good() && !f.eof()) {
        err << "referentctl: explain: cannot read " << a.positional[0] << '\n';
        return 1;
    }
    if (raw.size() > c.gateway.limits.max_message_size) {
        err << "referentctl: explain: " << a.positional[0]
            << " is larger than gateway.limits.max_message_size\n";
        return 2;
    }
    auto keys = cases::TokenKeys::load(c.gateway.secret_files);
    auto templates = mail::TemplateSet::load(c.organisation);
    if (!keys || !templates) {
        err << "referentctl: explain: " << (keys ? templates.error() : keys.error()).message
            << '\n';
        return 2;
    }
    spool::Envelope e;
    e.id = "explain";
    e.role = listener;
    e.protocol = listener == "internal" ? "LMTP" : "ESMTP";
    e.arrival = s->clock.now();
    auto parsed = mail::parse(raw, mail::parse_limits(c.gateway.limits));
    std::string from = a.option("--from").value_or("");
    std::string to = a.option("--to").value_or("");
    if (parsed) {
        if (from.empty())
            if (auto m = parsed.value().from()) from = m->address;
        if (to.empty())  // a single To: mailbox; a list needs --to
            if (auto h = parsed.value().raw_header("To"))
                if (auto m = mail::parse_mailbox(*h)) to = m->local_part + "@" + m->domain;
    }
    if (to.empty()) {
        err << "referentctl: explain: no recipient: give --to ADDR\n";
        return 2;
    }
    e.mail_from = from;
    e.recipients = {to};
    util::SystemRandom random;
    pipeline::ProcessorDeps deps;
    deps.config = s->config;
    deps.store = s->store.get();
    deps.keys = &*keys;
    deps.templates = &*templates;
    deps.clock = &s->clock;
    auto spool = spool::Spool::open(c.gateway.spool, s->clock, random);  // read by no step
    deps.spool = spool ? &*spool : nullptr;
    auto r = pipeline::explain(deps, raw, e);
    if (!r) return store_error(r.error(), "explain", err);
    if (a.has("--json")) {
        std::vector<std::string> sends, decisions;
        for (const auto& m : r->would_send)
            sends.push_back(JsonObject()
                                .text("kind", m.item.kind)
                                .text("to", m.item.rcpt)
                                .text("case", m.item.case_number)
                                .text("envelope_sender", m.item.mail_from)
                                .text("message", m.bytes)
                                .str());
        for (const auto& ev : r->events)
            decisions.push_back(JsonObject().text("kind", ev.kind).text("detail", ev.detail).str());
        out << JsonObject()
                   .text("listener", listener)
                   .text("mail_from", from)
                   .text("rcpt_to", to)
                   .text("refusal", r->refusal)
                   .text("class", mail::to_string(r->classification.mail_class))
                   .text("reason", r->classification.reason)
                   .text("error", r->error)
                   .raw("would_send", json_array(sends))
                   .raw("decisions", json_array(decisions))
                   .str()
            << '\n';
        return 0;
    }
    out << "envelope: " << listener << " listener, MAIL FROM <" << from << ">, RCPT TO <" << to
        << ">\n";
    if (!r->refusal.empty()) out << "parse: refused (" << r->refusal << ")\n";
    out << "class: " << mail::to_string(r->classification.mail_class) << " ("
        << r->classification.reason << ")\n";
    if (!r->error.empty())
        out << "error: " << r->error << " (the message would wait or be quarantined)\n";
    out << "\nwould send\n";
    Table t({"KIND", "TO", "CASE", "ENVELOPE SENDER"});
    for (const auto& m : r->would_send)
        t.row({m.item.kind, m.item.rcpt, m.item.case_number,
               m.item.mail_from.empty() ? "<>" : m.item.mail_from});
    if (t.empty())
        out << "nothing\n";
    else
        t.print(out);
    out << "\ndecisions\n";
    Table d({"KIND", "DETAIL"});
    for (const auto& ev : r->events) d.row({ev.kind, ev.detail});
    if (d.empty())
        out << "none recorded\n";
    else
        d.print(out);
    for (const auto& m : r->would_send)
        out << "\n--- " << m.item.kind << " to " << m.item.rcpt << " ---\n" << m.bytes;
    return 0;
}

}  // namespace referent::ops
