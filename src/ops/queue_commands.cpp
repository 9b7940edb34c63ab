// referentctl queue, retry, spool, requeue: see queue_commands.hpp.
#include "ops/queue_commands.hpp"

#include <optional>

#include "config/load.hpp"
#include "ops/output.hpp"
#include "ops/session.hpp"
#include "spool/outgoing.hpp"
#include "spool/posix_io.hpp"
#include "util/clock.hpp"
#include "util/random.hpp"

namespace referent::ops {

namespace {

constexpr const char* queue_usage =
    "usage: referentctl queue [--json]\n  the outbound items waiting for the relay\n";
constexpr const char* retry_usage =
    "usage: referentctl retry ID... | --all [--json]\n"
    "  try deferred items now (after a relay outage was fixed, say)\n";
constexpr const char* spool_usage =
    "usage: referentctl spool [--json]\n"
    "  messages received and not yet processed (incoming/), and quarantined (corrupt/)\n";
constexpr const char* requeue_usage =
    "usage: referentctl requeue ID [--json]\n"
    "  put a quarantined message back for processing, once what was wrong is fixed\n";

// The spool the configuration names (only the YAML is needed).
struct SpoolSession {
    util::SystemClock clock;
    util::SystemRandom random;
    std::optional<spool::Spool> spool;
};

std::unique_ptr<SpoolSession> open_spool(const std::string& config_path, const char* command,
                                         std::ostream& err, int& rc) {
    const config::LoadResult loaded = config::load_file(config_path);
    if (!loaded.ok()) {
        for (const auto& d : loaded.diagnostics()) err << d.to_string() << '\n';
        rc = 2;
        return nullptr;
    }
    auto s = std::make_unique<SpoolSession>();
    auto spool = spool::Spool::open(loaded.config().gateway.spool, s->clock, s->random);
    if (!spool) {
        err << "referentctl: " << command << ": " << spool.error().message << '\n';
        rc = 1;
        return nullptr;
    }
    s->spool.emplace(std::move(spool).value());
    return s;
}

int usage_error(const char* usage, const std::string& why, std::ostream& err) {
    err << "referentctl: " << why << '\n' << usage;
    return 2;
}

}  // namespace

int queue_command(const std::string& config_path, const std::vector<std::string>& args,
                  std::ostream& out, std::ostream& err) {
    Args a = Args::parse(args, {"--json"}, {});
    if (a.has("--help")) return out << queue_usage, 0;
    if (!a.error.empty() || !a.positional.empty())
        return usage_error(queue_usage, "queue: " + (a.error.empty() ? "no ID here" : a.error),
                           err);
    int rc = 0;
    auto s = open_spool(config_path, "queue", err, rc);
    if (!s) return rc;
    spool::Outgoing og(*s->spool);
    std::vector<std::string> json;
    Table t({"ID", "KIND", "CASE", "TO", "STATE", "ATTEMPTS", "NEXT TRY", "LAST ERROR"});
    for (const std::string& id : og.ids()) {
        auto i = og.item(id);
        if (!i) continue;  // delivered and removed meanwhile
        const char* state = i->attempts == 0 ? "due" : "deferred";
        if (a.has("--json"))
            json.push_back(JsonObject()
                               .text("id", i->id)
                               .text("kind", i->kind)
                               .text("case", i->case_number)
                               .text("to", i->rcpt)
                               .text("state", state)
                               .number("attempts", i->attempts)
                               .text("next_try", instant_text(i->next_attempt))
                               .text("last_error", i->last_error)
                               .str());
        else
            t.row({i->id, i->kind, i->case_number, i->rcpt, state, std::to_string(i->attempts),
                   instant_text(i->next_attempt), i->last_error});
    }
    if (a.has("--json"))
        out << json_array(json) << '\n';
    else
        t.print(out);
    return 0;
}

int retry_command(const std::string& config_path, const std::vector<std::string>& args,
                  std::ostream& out, std::ostream& err) {
    Args a = Args::parse(args, {"--all", "--json"}, {});
    if (a.has("--help")) return out << retry_usage, 0;
    if (!a.error.empty() || a.positional.empty() == !a.has("--all"))
        return usage_error(retry_usage, "retry: want ID... or --all", err);
    int rc = 0;
    auto s = open_spool(config_path, "retry", err, rc);
    if (!s) return rc;
    spool::Outgoing og(*s->spool);
    const std::vector<std::string> ids = a.has("--all") ? og.ids() : a.positional;
    const auto now = s->clock.now();
    std::size_t moved = 0;
    for (const std::string& id : ids) {
        auto i = og.item(id);
        if (!i) {
            if (a.has("--all")) continue;  // delivered meanwhile
            err << "referentctl: retry: " << id << ": no such item\n";
            return 2;
        }
        if (i->attempts == 0 || i->next_attempt <= now) continue;  // due already
        i->next_attempt = now;
        if (auto st = og.update(*i); !st) {
            err << "referentctl: retry: " << id << ": " << st.error().message << '\n';
            return 1;
        }
        ++moved;
    }
    if (moved > 0)
        if (auto st = og.request_retry(); !st) {
            err << "referentctl: retry: " << st.error().message << '\n';
            return 1;
        }
    if (a.has("--json"))
        return out << JsonObject().number("due_now", static_cast<std::int64_t>(moved)).str()
                   << '\n',
               0;
    out << moved << " deferred item(s) due now\n";
    return 0;
}

int spool_command(const std::string& config_path, const std::vector<std::string>& args,
                  std::ostream& out, std::ostream& err) {
    Args a = Args::parse(args, {"--json"}, {});
    if (a.has("--help")) return out << spool_usage, 0;
    if (!a.error.empty() || !a.positional.empty())
        return usage_error(spool_usage, "spool: " + (a.error.empty() ? "no ID here" : a.error),
                           err);
    int rc = 0;
    auto s = open_spool(config_path, "spool", err, rc);
    if (!s) return rc;
    std::vector<std::string> json;
    Table t({"ID", "WHERE", "ROLE", "ARRIVAL", "REASON"});
    for (const std::string& id : s->spool->incoming_ids()) {
        auto e = s->spool->read_envelope(id);
        const std::string role = e ? e->role : "?";
        const std::string arrival = e ? instant_text(e->arrival) : "?";
        if (a.has("--json"))
            json.push_back(JsonObject()
                               .text("id", id)
                               .text("where", "incoming")
                               .text("role", role)
                               .text("arrival", arrival)
                               .str());
        else
            t.row({id, "incoming", role, arrival, ""});
    }
    for (const std::string& id : s->spool->corrupt_ids()) {
        const auto base = s->spool->corrupt_dir() / id;
        auto reason = spool::posix::read_file(base.string() + ".reason", 64 << 10);
        std::string why = reason ? *reason : "";
        while (!why.empty() && why.back() == '\n') why.pop_back();
        auto env = spool::posix::read_file(base.string() + ".env", 64 << 10);
        auto e = env ? spool::parse_envelope(*env) : util::Result<spool::Envelope>(env.error());
        const std::string role = e ? e->role : "?";
        const std::string arrival = e ? instant_text(e->arrival) : "?";
        if (a.has("--json"))
            json.push_back(JsonObject()
                               .text("id", id)
                               .text("where", "corrupt")
                               .text("role", role)
                               .text("arrival", arrival)
                               .text("reason", why)
                               .str());
        else
            t.row({id, "corrupt", role, arrival, why});
    }
    if (a.has("--json"))
        out << json_array(json) << '\n';
    else
        t.print(out);
    return 0;
}

int requeue_command(const std::string& config_path, const std::vector<std::string>& args,
                    std::ostream& out, std::ostream& err) {
    Args a = Args::parse(args, {"--json"}, {});
    if (a.has("--help")) return out << requeue_usage, 0;
    if (!a.error.empty() || a.positional.size() != 1)
        return usage_error(requeue_usage, "requeue: want one ID", err);
    int rc = 0;
    auto s = open_spool(config_path, "requeue", err, rc);
    if (!s) return rc;
    if (auto st = s->spool->requeue(a.positional[0]); !st) {
        err << "referentctl: requeue: " << st.error().message << '\n';
        return st.error().is_temporary() ? 1 : 2;
    }
    if (a.has("--json"))
        return out << JsonObject().text("id", a.positional[0]).text("where", "incoming").str()
                   << '\n',
               0;
    out << a.positional[0] << ": back in incoming/\n";
    return 0;
}

}  // namespace referent::ops
