// config/load.cpp — the schema of referent.yaml, read with yaml-cpp (its only home).
//
// Each read_* function below is one mapping of the file; the keys it asks for are the schema
// (MapReader reports any other key). Ranges are those documented in config/referent.yaml.
// Checks that need the whole file (duplicates, references, domains) live in validate.cpp.
#include "config/load.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "config/cat.hpp"
#include "config/units.hpp"
#include "config/validate.hpp"
#include "config/yaml_reader.hpp"

namespace referent::config {

namespace {

constexpr std::uint64_t kMaxFileSize = 16 * MiB;  // a city's file is a few hundred KiB
constexpr std::uint64_t kDay = 86400;

// Reports unless exactly one of the two keys is written; both are asked for by the caller.
void exactly_one(MapReader& m, std::string_view a, std::string_view b) {
    if (m.is_map() && m.has(a) == m.has(b))
        m.reporter().error(m.field().pos, m.field().path,
                           "needs exactly one of " + std::string(a) + " and " + std::string(b));
}

void read_listen(Reporter& r, const Field& f, Listen& l) {
    MapReader m(r, f);
    m.string("address", l.address, Need::required, check_ip_literal);
    m.count("port", l.port, 0, 65535, Need::required);
    m.choice("protocol", l.protocol, {{"smtp", Protocol::smtp}, {"lmtp", Protocol::lmtp}});
    m.choice("role", l.role, {{"public", Role::public_}, {"internal", Role::internal}});
}

void read_tls(Reporter& r, const Field& f, std::optional<Tls>& out) {
    MapReader m(r, f);
    Tls tls;
    m.string("certificate", tls.certificate, Need::required, check_not_empty);
    m.string("key", tls.key, Need::required, check_not_empty);
    out = std::move(tls);
}

void read_limits(Reporter& r, const Field& f, Limits& l) {
    MapReader m(r, f);
    m.size("max_message_size", l.max_message_size, KiB, 2 * GiB);
    m.count("max_recipients", l.max_recipients, 1, 100'000);
    m.count("max_connections", l.max_connections, 1, 100'000);
    m.count("max_connections_per_ip", l.max_connections_per_ip, 1, 100'000);
    m.duration("idle_timeout", l.idle_timeout, 1, 3600);
    m.size("max_header_size", l.max_header_size, KiB, 2 * GiB);
    m.size("max_data_in_memory", l.max_data_in_memory, KiB, 2 * GiB);
    m.count("max_mime_depth", l.max_mime_depth, 1, 1024);
    m.count("max_mime_parts", l.max_mime_parts, 1, 100'000);
    m.count("max_errors", l.max_errors, 1, 1000);
    m.count("max_nonmail_commands", l.max_nonmail_commands, 1, 100'000);
    m.count("max_command_length", l.max_command_length, 512, 65'536);
    m.size("min_free_space", l.min_free_space, 0, TiB);
    m.duration("shutdown_grace", l.shutdown_grace, 0, 3600);
    m.count("max_thread_keys", l.max_thread_keys, 1, 1000);
    m.count("max_notices_per_day", l.max_notices_per_day, 1, 1000);
}

void read_gateway(Reporter& r, const Field& f, Gateway& g) {
    MapReader m(r, f);
    m.string("hostname", g.hostname, Need::required, check_hostname);
    for (const Field& item : m.list("listen", Need::required, true))
        read_listen(r, item, g.listen.emplace_back());
    if (auto tls = m.get("tls")) read_tls(r, *tls, g.tls);
    m.strings("trusted_authserv_ids", g.trusted_authserv_ids, Need::optional, check_authserv_id,
              false);
    m.strings("secret_files", g.secret_files, Need::optional, check_not_empty, true);
    m.string("spool", g.spool, Need::required, check_not_empty);
    m.count("processor_workers", g.processor_workers, 0, 64);
    m.count("processor_batch", g.processor_batch, 1, 1000);
    if (auto limits = m.get("limits")) read_limits(r, *limits, g.limits);
}

void read_store(Reporter& r, const Field& f, Store& s) {
    MapReader m(r, f);
    m.string("sqlite", s.sqlite, check_not_empty);
    m.string("postgresql", s.postgresql, check_not_empty);
    exactly_one(m, "sqlite", "postgresql");
}

void read_retry(Reporter& r, MapReader& m, std::vector<Seconds>& out) {
    std::vector<Seconds> schedule;
    for (const Field& item : m.list("retry", Need::optional, true))
        if (auto s = read_duration(r, item, 1, 7 * kDay))
            schedule.emplace_back(static_cast<Seconds::rep>(*s));
    if (!schedule.empty()) out = std::move(schedule);
}

// username and password_file only make sense together.
void credentials_paired(MapReader& m) {
    const bool user = m.has("username");
    const bool password = m.has("password_file");
    if (user == password) return;
    const std::string path = m.path_of(user ? "username" : "password_file");
    m.reporter().error(m.reporter().where(path), path,
                       user ? "requires relay.password_file" : "is used only with relay.username");
}

void read_relay(Reporter& r, const Field& f, Relay& rl) {
    MapReader m(r, f);
    m.string("url", rl.url, check_relay_url);
    m.string("maildir", rl.maildir, check_not_empty);
    exactly_one(m, "url", "maildir");
    m.choice("starttls", rl.starttls,
             {{"never", StartTls::never},
              {"opportunistic", StartTls::opportunistic},
              {"required", StartTls::required}});
    m.string("username", rl.username, check_not_empty);
    m.string("password_file", rl.password_file, check_not_empty);
    if (m.is_map()) credentials_paired(m);
    // A password never crosses the network in clear: over smtp://, AUTH needs STARTTLS required.
    if (m.is_map() && m.has("username") && rl.url && rl.url->starts_with("smtp://") &&
        rl.starttls != StartTls::required) {
        const std::string path = m.path_of("username");
        m.reporter().error(m.reporter().where(path), path,
                           "requires relay.starttls: required with an smtp:// url (or smtps://)");
    }
    m.count("workers", rl.workers, 1, 256);
    read_retry(r, m, rl.retry);
    m.duration("max_queue_lifetime", rl.max_queue_lifetime, 60, 365 * kDay);
    m.duration("connect_timeout", rl.connect_timeout, 1, 600);
    m.duration("timeout", rl.timeout, 10, 3600);
}

void read_organisation(Reporter& r, const Field& f, Organisation& o) {
    MapReader m(r, f);
    m.string("name", o.name, Need::required, check_not_empty);
    m.string("postal_address", o.postal_address, Need::optional);
    m.choice("language", o.language, {{"fr", std::string("fr")}, {"en", std::string("en")}});
    m.string("citizen_domain", o.citizen_domain, Need::required, check_domain);
    m.string("agent_domain", o.agent_domain, Need::required, check_domain);
    m.string("from_format", o.from_format, Need::optional, check_not_empty);
    m.choice("holidays", o.holidays, {{"fr", std::string("fr")}, {"none", std::string("none")}});
    m.string("templates", o.templates, Need::optional, check_not_empty);
}

void read_service(Reporter& r, const Field& f, Service& s) {
    MapReader m(r, f);
    m.string("id", s.id, Need::required, check_id);
    m.string("name", s.name, Need::required, check_not_empty);
    m.string("address", s.address, Need::required, check_email);
    m.string("case_prefix", s.case_prefix, Need::required, check_case_prefix);
    m.choice("assignment", s.assignment,
             {{"sticky", Assignment::sticky},
              {"least_loaded", Assignment::least_loaded},
              {"round_robin", Assignment::round_robin}});
    m.boolean("acknowledge", s.acknowledge);
    m.count("response_days", s.response_days, 1, 365);
    m.count("reopen_days", s.reopen_days, 0, 3650);
    m.count("retention_days", s.retention_days, 1, 36'500);
    m.string("manager", s.manager, check_email);
    m.string("fallback", s.fallback, check_email);
    m.strings("agents", s.agents, Need::required, check_not_empty, true);
}

void read_absence(Reporter& r, const Field& f, Absence& a) {
    MapReader m(r, f);
    std::optional<Date> from, to;
    if (auto field = m.get("from", Need::required)) from = read_date(r, *field);
    if (auto field = m.get("to", Need::required)) to = read_date(r, *field);
    m.string("delegate", a.delegate, Need::optional, check_not_empty);
    if (from) a.from = *from;
    if (to) a.to = *to;
    if (from && to && *to < *from) {
        const std::string path = m.path_of("to");
        r.error(r.where(path), path, cat("must not be before from (", format_date(*from), ")"));
    }
}

void read_agent(Reporter& r, const Field& f, Agent& a) {
    MapReader m(r, f);
    m.string("id", a.id, Need::required, check_id);
    m.string("name", a.name, Need::required, check_not_empty);
    m.string("title", a.title, Need::optional);
    m.string("email", a.email, Need::required, check_email);
    m.strings("aliases", a.aliases, Need::optional, check_email, false);
    m.string("phone", a.phone, Need::optional);
    m.string("hours", a.hours, Need::optional);
    m.count("max_open_cases", a.max_open_cases, 1, 1'000'000);
    m.boolean("anonymous", a.anonymous);
    m.boolean("public", a.is_public);
    for (const Field& item : m.list("absences", Need::optional, false))
        read_absence(r, item, a.absences.emplace_back());
}

void read_ops(Reporter& r, const Field& f, Ops& o) {
    MapReader m(r, f);
    m.string("metrics_listen", o.metrics_listen, Need::optional, check_listen_endpoint);
    m.duration("deadline_check", o.deadline_check, 60, 86400);
    m.choice("log_level", o.log_level,
             {{"debug", LogLevelName::debug},
              {"info", LogLevelName::info},
              {"warning", LogLevelName::warning},
              {"error", LogLevelName::error}});
}

void read_config(Reporter& r, const YAML::Node& root, Config& c) {
    MapReader m(r, Field{root, "", Pos{1, 1}});
    if (auto f = m.get("gateway", Need::required)) read_gateway(r, *f, c.gateway);
    if (auto f = m.get("store", Need::required)) read_store(r, *f, c.store);
    if (auto f = m.get("relay", Need::required)) read_relay(r, *f, c.relay);
    if (auto f = m.get("organisation", Need::required)) read_organisation(r, *f, c.organisation);
    for (const Field& item : m.list("services", Need::required, true))
        read_service(r, item, c.services.emplace_back());
    for (const Field& item : m.list("agents", Need::required, true))
        read_agent(r, item, c.agents.emplace_back());
    if (auto f = m.get("ops")) read_ops(r, *f, c.ops);
}

Pos pos_of_mark(const YAML::Mark& mark) {
    if (mark.is_null() || mark.line < 0) return Pos{1, 1};
    return Pos{mark.line + 1, mark.column + 1};
}

// yaml-cpp silently drops a raw NUL octet ("An\0ne" reads as "Anne"): refuse it up front.
bool has_raw_nul(Reporter& r, const std::string& yaml) {
    const auto at = yaml.find('\0');
    if (at == std::string::npos) return false;
    const auto line_start = yaml.rfind('\n', at);
    const auto line =
        std::count(yaml.begin(), yaml.begin() + static_cast<std::ptrdiff_t>(at), '\n');
    const auto column = at - (line_start == std::string::npos ? 0 : line_start + 1);
    r.error(Pos{static_cast<int>(line) + 1, static_cast<int>(column) + 1}, "",
            "the file contains a NUL octet");
    return true;
}

// The start of each document and of its root node, from yaml-cpp's event parser (no tree).
class DocumentMarks : public YAML::EventHandler {
public:
    struct Document {
        YAML::Mark start;
        std::optional<YAML::Mark> root;
    };
    std::vector<Document> documents;

    void OnDocumentStart(const YAML::Mark& mark) override { documents.push_back({mark, {}}); }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
    void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
    void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  const std::string&) override {
        node(mark);
    }
    void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {
        node(mark);
    }
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {
        node(mark);
    }
    void OnMapEnd() override {}

private:
    void node(const YAML::Mark& mark) {
        if (!documents.empty() && !documents.back().root) documents.back().root = mark;
    }
};

// yaml-cpp 0.7 can stall on a token that no rule consumes, such as a ',' outside [ ] and { }
// (yaml-cpp issue #1040): each call then reports an empty document at the same place, and
// YAML::LoadAll collects them until memory runs out. So the documents are counted with the
// event parser, never more than kDocumentsRead of them: enough to see a second document and
// whether it is a stall (two documents starting at the same octet).
constexpr std::size_t kDocumentsRead = 3;

// Reports a second document (the first is still read and checked); returns false, after
// reporting, when the parser stalls: then nothing more can be read.
bool parses_as_one_document(Reporter& r, const std::string& yaml) {
    std::istringstream in(yaml);
    YAML::Parser parser(in);
    DocumentMarks marks;
    while (marks.documents.size() < kDocumentsRead && parser.HandleNextDocument(marks)) {
    }
    const auto& docs = marks.documents;
    for (std::size_t i = 1; i < docs.size(); ++i) {
        if (docs[i].start.pos != docs[i - 1].start.pos) continue;
        const auto at = static_cast<std::size_t>(docs[i].start.pos);
        const char c = at < yaml.size() ? yaml[at] : '\0';
        const bool printable = c > ' ' && c < 0x7f;
        r.error(pos_of_mark(docs[i].start), "",
                cat("YAML syntax error: unexpected ",
                    printable ? quoted(std::string_view(&c, 1)) : std::string("token"),
                    c == ',' ? " outside [ ] or { }" : ""));
        return false;
    }
    if (docs.size() > 1)
        r.error(pos_of_mark(docs[1].root.value_or(docs[1].start)), "",
                "only one YAML document is allowed");
    return true;
}

void parse(Reporter& r, const std::string& yaml, Config& c) {
    if (has_raw_nul(r, yaml)) return;
    if (!parses_as_one_document(r, yaml)) return;
    const YAML::Node root = YAML::Load(yaml);
    if (root.IsNull()) return r.error(Pos{1, 1}, "", "the configuration is empty");
    if (!root.IsMap())
        return r.error(pos_of_mark(root.Mark()), "", "the top level must be a mapping");
    if (!check_every_scalar(r, root)) return;
    read_config(r, root, c);
    validate(c, r);
}

// POSIX rather than iostreams: a directory or a read error must not look like an empty file.
util::Result<std::string> read_whole_file(const std::string& path) {
    const auto failure = [](const char* what) {
        return util::Error::permanent(cat(what, ": ", std::strerror(errno)));
    };
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return failure("cannot open");
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        ::close(fd);
        return util::Error::permanent("is a directory");
    }
    std::string text;
    char buffer[1 << 16];
    for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            util::Error error = failure("cannot read");
            ::close(fd);
            return error;
        }
        if (n == 0) break;
        text.append(buffer, static_cast<std::size_t>(n));
        if (text.size() > kMaxFileSize) {
            ::close(fd);
            return util::Error::permanent(cat("is larger than ", format_size(kMaxFileSize)));
        }
    }
    ::close(fd);
    return text;
}

}  // namespace

LoadResult load_string(const std::string& yaml, const std::string& file) {
    Reporter r(file);
    Config c;
    try {
        parse(r, yaml, c);
    } catch (const YAML::Exception& e) {
        // ParserException carries the mark of the syntax error; others (rare) may not.
        r.error(pos_of_mark(e.mark), "", "YAML syntax error: " + e.msg);
    } catch (const std::exception& e) {
        r.error(Pos{1, 1}, "", std::string("cannot be loaded: ") + e.what());
    }
    if (r.has_errors()) return {r.take_sorted()};
    c.source_file = file;
    return {std::move(c)};
}

LoadResult load_file(const std::string& path) {
    auto text = read_whole_file(path);
    if (!text) return LoadResult{std::vector<Diagnostic>{{path, 0, 0, "", text.error().message}}};
    return load_string(*text, path);
}

}  // namespace referent::config
