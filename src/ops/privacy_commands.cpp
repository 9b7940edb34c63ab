// referentctl export and purge: see privacy_commands.hpp.
#include "ops/privacy_commands.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "ops/case_json.hpp"
#include "ops/output.hpp"
#include "ops/session.hpp"

namespace referent::ops {

namespace {

namespace fs = std::filesystem;

constexpr const char* export_usage =
    "usage: referentctl export --citizen ADDRESS DIR [--json]\n"
    "  write everything held about the citizen: DIR/citizen.json and each kept message as\n"
    "  DIR/<case>/<n>-<in|out>-<kind>.eml; DIR must not exist or be empty\n";
constexpr const char* purge_usage =
    "usage: referentctl purge [--dry-run] [--json]\n"
    "  per service, cases closed more than retention_days ago lose their messages' bytes and\n"
    "  subjects; their citizens get a pseudonym; case numbers and the event log stay\n";

bool write_file(const fs::path& p, const std::string& bytes) {
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f << bytes;
    f.close();
    return static_cast<bool>(f);
}

}  // namespace

int export_command(const std::string& config_path, const std::vector<std::string>& args,
                   std::ostream& out, std::ostream& err) {
    Args a = Args::parse(args, {"--json"}, {"--citizen"});
    if (a.has("--help")) return out << export_usage, 0;
    if (!a.error.empty() || a.positional.size() != 1 || !a.option("--citizen")) {
        err << "referentctl: export: " << (a.error.empty() ? "want --citizen ADDRESS DIR" : a.error)
            << '\n'
            << export_usage;
        return 2;
    }
    const fs::path dir = a.positional[0];
    std::error_code ec;
    if (fs::exists(dir, ec) && !fs::is_empty(dir, ec)) {
        err << "referentctl: export: " << dir.string() << " exists and is not empty\n";
        return 2;
    }
    int rc = 0;
    auto s = open_store(config_path, "export", err, rc);
    if (!s) return rc;
    cases::CaseFilter f;
    f.citizen = *a.option("--citizen");
    f.limit = 1'000'000;
    auto listed = s->store->list_cases(f);
    if (!listed) return store_error(listed.error(), "export", err);
    if (listed->empty()) {
        if (a.has("--json"))
            return out << JsonObject().text("citizen", *f.citizen).number("cases", 0).str() << '\n',
                   0;
        out << *f.citizen << ": no case\n";
        return 0;
    }
    fs::create_directories(dir, ec);
    if (ec) {
        err << "referentctl: export: " << dir.string() << ": " << ec.message() << '\n';
        return 1;
    }
    std::vector<std::string> case_docs;
    std::size_t files = 0;
    for (const cases::Case& c : *listed) {
        auto file = s->store->case_file(c.number);
        if (!file) return store_error(file.error(), "export", err);
        std::vector<std::string> messages;
        int n = 0;
        for (const cases::MessageRecord& m : file->messages) {
            JsonObject o;
            o.text("direction", cases::to_string(m.direction))
                .text("kind", m.kind)
                .text("at", instant_text(m.at))
                .text("message_id", m.message_id)
                .text("sender", m.sender)
                .text("subject", m.subject);
            auto raw = s->store->message_raw(m.id);
            if (!raw) return store_error(raw.error(), "export", err);
            if (*raw) {
                char name[64];
                std::snprintf(name, sizeof name, "%03d-%s-%s.eml", ++n,
                              cases::to_string(m.direction), m.kind.c_str());
                const fs::path rel = fs::path(c.number) / name;
                fs::create_directories(dir / c.number, ec);
                if (!write_file(dir / rel, **raw)) {
                    err << "referentctl: export: cannot write " << (dir / rel).string() << '\n';
                    return 1;
                }
                ++files;
                o.text("file", rel.string());
            } else {
                o.null("file");  // purged after its retention
            }
            messages.push_back(o.str());
        }
        case_docs.push_back(JsonObject()
                                .text("number", c.number)
                                .text("service", c.service)
                                .text("status", cases::to_string(c.status))
                                .text("opened", instant_text(c.opened))
                                .text("due", day_text(c.due))
                                .text("referent", c.referent)
                                .raw("messages", json_array(messages))
                                .raw("referents", referents_json(file->referents))
                                .raw("events", events_json(file->events))
                                .str());
    }
    const cases::Citizen& who = listed->front().citizen;
    const std::string doc = JsonObject()
                                .text("citizen", who.address)
                                .text("name", who.name)
                                .text("exported", instant_text(s->clock.now()))
                                .raw("cases", json_array(case_docs))
                                .str() +
                            "\n";
    if (!write_file(dir / "citizen.json", doc)) {
        err << "referentctl: export: cannot write " << (dir / "citizen.json").string() << '\n';
        return 1;
    }
    if (a.has("--json"))
        return out << JsonObject()
                          .text("citizen", who.address)
                          .number("cases", static_cast<std::int64_t>(listed->size()))
                          .number("messages", static_cast<std::int64_t>(files))
                          .text("dir", dir.string())
                          .str()
                   << '\n',
               0;
    out << who.address << ": " << listed->size() << " cases, " << files << " messages in "
        << dir.string() << '\n';
    return 0;
}

int purge_command(const std::string& config_path, const std::vector<std::string>& args,
                  std::ostream& out, std::ostream& err) {
    Args a = Args::parse(args, {"--dry-run", "--json"}, {});
    if (a.has("--help")) return out << purge_usage, 0;
    if (!a.error.empty() || !a.positional.empty()) {
        err << "referentctl: purge: " << (a.error.empty() ? "no argument here" : a.error) << '\n'
            << purge_usage;
        return 2;
    }
    int rc = 0;
    auto s = open_store(config_path, "purge", err, rc);
    if (!s) return rc;
    const bool dry = a.has("--dry-run");
    auto r = s->store->purge(dry);
    if (!r) return store_error(r.error(), "purge", err);
    if (a.has("--json"))
        return out << JsonObject()
                          .boolean("dry_run", dry)
                          .number("cases", static_cast<std::int64_t>(r->cases))
                          .number("messages", static_cast<std::int64_t>(r->messages))
                          .number("citizens", static_cast<std::int64_t>(r->citizens))
                          .str()
                   << '\n',
               0;
    out << (dry ? "would purge: " : "purged: ") << r->cases << " cases, " << r->messages
        << " messages, " << r->citizens << " citizens pseudonymised\n";
    return 0;
}

}  // namespace referent::ops
