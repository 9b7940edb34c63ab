// referentctl — operations command line for Référent.
//
// Usage: referentctl [-c FILE] COMMAND [ARGS]
// Commands: check-config, classify, token, keygen, assign, cases, show, close, reopen,
// absence, directory, export, purge, explain, stats, queue, retry, spool, requeue. Exit codes: 0
// ok, 1 environment, 2 configuration or usage.
#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "cases/token.hpp"
#include "config/load.hpp"
#include "mail/classify.hpp"
#include "mail/message.hpp"
#include "ops/assign.hpp"
#include "ops/case_commands.hpp"
#include "ops/check.hpp"
#include "ops/directory.hpp"
#include "ops/explain_command.hpp"
#include "ops/privacy_commands.hpp"
#include "ops/queue_commands.hpp"
#include "ops/stats_command.hpp"

namespace {

constexpr const char* default_config = "/etc/referent/referent.yaml";

void usage(std::ostream& out) {
    out << "usage: referentctl [-c FILE] COMMAND [ARGS]\n"
           "  -c, --config FILE   configuration file (default "
        << default_config
        << ")\n"
           "  --version           print the version and exit\n"
           "commands:\n"
           "  check-config        validate the configuration; print every problem as\n"
           "                      FILE:LINE:COL: key: reason; exit 0 (valid) or 2 (invalid)\n"
           "  classify [--report] FILE...\n"
           "                      classify each message file as the gateway would (human,\n"
           "                      auto-reply, bounce, bulk, loop) and print FILE: CLASS (reason),\n"
           "                      or FILE: refused (kind: reason) past gateway.limits; the\n"
           "                      file's Return-Path stands for the envelope sender; --report\n"
           "                      adds the fields read from each bounce; exit 0, 1 if a file\n"
           "                      cannot be read (the others are still classified), 2 on a\n"
           "                      configuration error\n"
           "  token --purpose citizen|agent|bounce --case N --party N\n"
           "                      print a reply token signed with the first of\n"
           "                      gateway.secret_files (party: the citizen id, the agent id\n"
           "                      or the outbound delivery id); exit 2 if a key file or an\n"
           "                      argument is wrong\n"
           "  assign CASE AGENT --reason TEXT\n"
           "                      hand the case over to AGENT: recorded with its reason; the\n"
           "                      citizen gets the handover notice with the new card, AGENT the\n"
           "                      case's history; the former referent's replies are refused\n"
           "                      politely; exit 0, 1 (store or spool unusable), 2 (unknown\n"
           "                      case or agent, same referent, empty reason, bad config)\n"
           "  keygen FILE         write a new random secret to FILE (mode 0600) for\n"
           "                      gateway.secret_files; never overwrites an existing file;\n"
           "                      exit 1 on failure\n"
           "  cases [--service S] [--agent A] [--status open|closed] [--overdue] [--json]\n"
           "  show CASE [--json]  a case: messages, referents over time, events\n"
           "  close CASE, reopen CASE\n"
           "  absence add AGENT --from DATE --to DATE [--delegate AGENT]\n"
           "  absence list [--json], absence end AGENT\n"
           "  directory --out DIR the public page (index.html, directory.json) of services and\n"
           "                      their public referents\n"
           "  export --citizen ADDRESS DIR\n"
           "                      everything held about a citizen (GDPR art. 15)\n"
           "  purge [--dry-run]   retention: bodies of cases closed past retention_days\n"
           "  explain FILE [--listener public|internal] [--from ADDR] [--to ADDR]\n"
           "                      a dry run of a message: class, case, checks, what would be\n"
           "                      sent; changes nothing\n"
           "  stats [--since YYYY-MM-DD] [--json]\n"
           "                      per service and referent: open, overdue, answered, median\n"
           "                      first response in working hours, handed over\n"
           "  queue [--json]      outbound items: state, attempts, next try, last error\n"
           "  retry ID...|--all   deferred items due now\n"
           "  spool [--json]      incoming/ and corrupt/ (with the reason)\n"
           "  requeue ID          a quarantined message back to incoming/ after a fix\n"
           "Each command takes --help. Exit codes: 0 done; 1 the store or the spool cannot be\n"
           "used (try again); 2 usage, configuration, or a request refused (unknown case...).\n";
}

namespace mail = referent::mail;

// Reads at most `cap` octets: one past the size limit is enough for parse() to refuse.
std::optional<std::string> read_file(const std::string& path, std::uint64_t cap) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::string bytes;
    std::array<char, 65536> chunk;
    while (bytes.size() < cap) {
        in.read(chunk.data(), chunk.size());
        bytes.append(chunk.data(), static_cast<std::size_t>(in.gcount()));
        if (!in) break;
    }
    if (in.bad()) return std::nullopt;
    if (bytes.size() > cap) bytes.resize(static_cast<std::size_t>(cap));
    return bytes;
}

// A file has no envelope: its Return-Path (written at final delivery) is the best stand-in.
mail::EnvelopeInfo envelope_of(const mail::Message& m) {
    mail::EnvelopeInfo envelope;
    if (std::optional<std::string> rp = m.raw_header("Return-Path")) {
        std::string v = *rp;
        std::size_t lt = v.find('<'), gt = v.rfind('>');
        if (lt != std::string::npos && gt != std::string::npos && gt > lt)
            envelope.mail_from = v.substr(lt + 1, gt - lt - 1);
    }
    return envelope;
}

void print_report(const mail::BounceReport& r, std::ostream& out) {
    out << "  action=" << r.action << " status=" << r.status
        << " final-recipient=" << r.final_recipient << " source=" << r.source << "\n"
        << "  diagnostic-code=" << r.diagnostic_code << "\n"
        << "  original-message-id=" << r.original_message_id << "\n";
}

int classify_command(const std::string& config_path, std::vector<std::string> args) {
    bool report = !args.empty() && args.front() == "--report";
    if (report) args.erase(args.begin());
    const referent::config::LoadResult loaded = referent::config::load_file(config_path);
    if (!loaded.ok()) {
        for (const auto& d : loaded.diagnostics()) std::cerr << d.to_string() << "\n";
        return 2;
    }
    const mail::ParseLimits limits = mail::parse_limits(loaded.config().gateway.limits);
    const mail::ClassifyConfig config = mail::classify_config(loaded.config());
    int rc = 0;
    for (const std::string& file : args) {
        std::optional<std::string> bytes = read_file(file, limits.max_message_size + 1);
        if (!bytes) {
            std::cerr << "referentctl: " << file << ": " << std::strerror(errno) << "\n";
            rc = 1;
            continue;
        }
        mail::MailResult<mail::Message> parsed = mail::parse(*bytes, limits);
        if (!parsed) {
            std::cout << file << ": refused (" << mail::to_string(parsed.refusal().kind) << ": "
                      << parsed.refusal().reason << ")\n";
            continue;
        }
        mail::Classification c =
            mail::classify(parsed.value(), envelope_of(parsed.value()), config);
        std::cout << file << ": " << mail::to_string(c.mail_class) << " (" << c.reason << ")\n";
        if (report && c.bounce) print_report(*c.bounce, std::cout);
    }
    return rc;
}

std::optional<std::uint32_t> parse_u32(const std::string& s) {
    std::uint32_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return v;
}

std::optional<referent::cases::TokenPurpose> parse_purpose(const std::string& s) {
    using referent::cases::TokenPurpose;
    if (s == "citizen") return TokenPurpose::citizen_reply;
    if (s == "agent") return TokenPurpose::agent_reply;
    if (s == "bounce") return TokenPurpose::bounce;
    return std::nullopt;
}

// "--purpose P --case N --party N", each once, in any order.
std::optional<referent::cases::TokenClaims> token_claims(const std::vector<std::string>& args) {
    std::optional<referent::cases::TokenPurpose> purpose;
    std::optional<std::uint32_t> case_id, party;
    if (args.size() != 6) return std::nullopt;
    for (std::size_t i = 0; i < args.size(); i += 2) {
        const std::string& key = args[i];
        const std::string& value = args[i + 1];
        if (key == "--purpose" && !purpose)
            purpose = parse_purpose(value);
        else if (key == "--case" && !case_id)
            case_id = parse_u32(value);
        else if (key == "--party" && !party)
            party = parse_u32(value);
        else
            return std::nullopt;
    }
    if (!purpose || !case_id || !party) return std::nullopt;
    return referent::cases::TokenClaims{*purpose, *case_id, *party};
}

int token_command(const std::string& config_path, const std::vector<std::string>& args) {
    std::optional<referent::cases::TokenClaims> claims = token_claims(args);
    if (!claims) {
        std::cerr << "referentctl: token: want --purpose citizen|agent|bounce --case N "
                     "--party N (N from 0 to 4294967295)\n";
        return 2;
    }
    const referent::config::LoadResult loaded = referent::config::load_file(config_path);
    if (!loaded.ok()) {
        for (const auto& d : loaded.diagnostics()) std::cerr << d.to_string() << "\n";
        return 2;
    }
    auto keys = referent::cases::TokenKeys::load(loaded.config().gateway.secret_files);
    if (!keys) {
        std::cerr << "referentctl: " << keys.error().message << "\n";
        return 2;
    }
    std::cout << keys->mint(*claims) << "\n";
    return 0;
}

int keygen_command(const std::string& file) {
    referent::util::Status st = referent::cases::write_new_secret(file);
    if (!st) {
        std::cerr << "referentctl: keygen: " << st.error().message << "\n";
        return 1;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::string path = default_config;
    std::vector<std::string> rest;
    // Global options come before the command; what follows it is the command's own.
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (!rest.empty())
            rest.push_back(a);
        else if ((a == "-c" || a == "--config") && i + 1 < argc)
            path = argv[++i];
        else if (a == "--version") {
            std::cout << "referentctl " REFERENT_VERSION "\n";
            return 0;
        } else if (a == "--help" || a == "-h") {
            usage(std::cout);
            return 0;
        } else
            rest.push_back(a);
    }
    if (rest.empty()) {
        usage(std::cerr);
        return 2;
    }
    const std::vector<std::string> args(rest.begin() + 1, rest.end());
    const bool help = std::find(args.begin(), args.end(), "--help") != args.end();
    if (rest[0] == "assign")
        return referent::ops::assign_command(
            path, std::vector<std::string>(rest.begin() + 1, rest.end()), std::cout, std::cerr);
    if (rest[0] == "cases") return referent::ops::cases_command(path, args, std::cout, std::cerr);
    if (rest[0] == "show") return referent::ops::show_command(path, args, std::cout, std::cerr);
    if (rest[0] == "close" || rest[0] == "reopen")
        return referent::ops::status_command(rest[0], path, args, std::cout, std::cerr);
    if (rest[0] == "absence")
        return referent::ops::absence_command(path, args, std::cout, std::cerr);
    if (rest[0] == "explain") {
        return referent::ops::explain_command(path, args, std::cout, std::cerr);
    }
    if (rest[0] == "queue") return referent::ops::queue_command(path, args, std::cout, std::cerr);
    if (rest[0] == "retry") return referent::ops::retry_command(path, args, std::cout, std::cerr);
    if (rest[0] == "spool") return referent::ops::spool_command(path, args, std::cout, std::cerr);
    if (rest[0] == "requeue")
        return referent::ops::requeue_command(path, args, std::cout, std::cerr);
    if (rest[0] == "stats") return referent::ops::stats_command(path, args, std::cout, std::cerr);
    if (rest[0] == "export") return referent::ops::export_command(path, args, std::cout, std::cerr);
    if (rest[0] == "purge") return referent::ops::purge_command(path, args, std::cout, std::cerr);
    if (rest[0] == "directory")
        return referent::ops::directory_command(path, args, std::cout, std::cerr);
    if (help) {  // the older commands: their lines of the general usage
        usage(std::cout);
        return 0;
    }
    if (rest[0] == "check-config" && rest.size() == 1)
        return referent::ops::check_config_command(path, std::cout, std::cerr);
    if (rest[0] == "classify" && rest.size() == 1) {
        std::cerr << "referentctl: classify: no FILE given\n";
        usage(std::cerr);
        return 2;
    }
    if (rest[0] == "classify") {
        referent::mail::init();
        return classify_command(path, std::vector<std::string>(rest.begin() + 1, rest.end()));
    }
    if (rest[0] == "token")
        return token_command(path, std::vector<std::string>(rest.begin() + 1, rest.end()));
    if (rest[0] == "keygen" && rest.size() == 2) return keygen_command(rest[1]);
    if (rest[0] == "keygen") {
        std::cerr << "referentctl: keygen: want exactly one FILE\n";
        usage(std::cerr);
        return 2;
    }
    std::cerr << "referentctl: unknown command: " << rest[0] << "\n";
    usage(std::cerr);
    return 2;
}
