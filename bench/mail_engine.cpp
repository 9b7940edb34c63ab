// bench/mail_engine.cpp — throughput of the mail engine on generated, deterministic messages.
//
// Each benchmark starts from the raw bytes, as the pipeline does:
//   ParseClassify  parse() + classify()            the peer: reading a message at all
//   Forward        parse() + forward()             a citizen's message made ready for the agent
//   Rewrite        parse() + rewrite()             an agent's reply made fit for the citizen
// on two loads: /mix (four messages of about 5, 10, 20 and 50 KB per iteration: multipart/mixed
// holding a text + HTML alternative and a base64 PDF-like attachment) and /10MB (one message
// whose attachment is 10 MB of base64). Bytes processed are the input bytes; items are messages.
// Run by bench/mail_engine.sh; templates come from the source tree (REFERENT_SOURCE_DIR).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "mail/classify.hpp"
#include "mail/forward.hpp"
#include "mail/message.hpp"
#include "mail/rewrite.hpp"
#include "mail/template.hpp"

namespace {

using namespace referent::mail;

const std::string case_number = "EC-2026-000042";

// xorshift32: the same bytes on every run and every machine.
struct Random {
    std::uint32_t s = 2463534242u;
    std::uint32_t next() {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        return s;
    }
};

// Prose in lines under 76 octets, CRLF, with some UTF-8 accents.
std::string prose(std::size_t bytes, Random& rnd, std::string_view prefix = {}) {
    static const char* const words[] = {
        "Bonjour",     "je",        "vous",      "écris",   "au",        "sujet",      "du",
        "dossier",     "livret",    "famille",   "demande", "duplicata", "mairie",     "état",
        "civil",       "merci",     "d'avance",  "pour",    "votre",     "réponse",    "acte",
        "de",          "naissance", "pièce",     "jointe",  "le",        "formulaire", "signé",
        "rendez-vous", "à",         "l'accueil", "délai"};
    std::string out, line(prefix);
    while (out.size() + line.size() < bytes) {
        std::string_view w = words[rnd.next() % (sizeof words / sizeof *words)];
        if (line.size() + w.size() + 1 > 72) {
            out.append(line).append("\r\n");
            line.assign(prefix);
        }
        line.append(w).append(" ");
    }
    out.append(line).append("\r\n");
    return out;
}

std::string base64_attachment(std::size_t encoded_bytes, Random& rnd) {
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve(encoded_bytes + encoded_bytes / 38);
    while (out.size() < encoded_bytes) {
        for (int i = 0; i < 76; ++i) out.push_back(alphabet[rnd.next() % 64]);
        out.append("\r\n");
    }
    return out;
}

std::string html_of(const std::string& text) {
    std::string out = "<p>";
    for (char c : text) {
        if (c == '\r') continue;
        if (c == '\n')
            out.append("<br>\r\n");
        else
            out.push_back(c);
    }
    return out.append("</p>");
}

// Headers, then multipart/mixed { alternative { plain, html }, attachment } of about `total`.
std::string message(std::string_view headers, const std::string& plain, const std::string& html,
                    std::size_t total, Random& rnd) {
    std::string m(headers);
    m.append(
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"mixed-b\"\r\n\r\n"
        "--mixed-b\r\nContent-Type: multipart/alternative; boundary=\"alt-b\"\r\n\r\n"
        "--alt-b\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n");
    m.append(plain).append(
        "--alt-b\r\nContent-Type: text/html; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n<html><body>");
    m.append(html).append("</body></html>\r\n--alt-b--\r\n");
    m.append(
        "--mixed-b\r\nContent-Type: application/pdf; name=\"piece.pdf\"\r\n"
        "Content-Disposition: attachment; filename=\"piece.pdf\"\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n");
    std::size_t room = total > m.size() + 64 ? total - m.size() - 64 : 76;
    m.append(base64_attachment(room, rnd)).append("--mixed-b--\r\n");
    return m;
}

std::size_t text_budget(std::size_t total) {
    return std::min<std::size_t>(total / 5, 8 << 10);
}

std::string citizen_message(std::size_t total) {
    Random rnd;
    std::string plain = prose(text_budget(total), rnd);
    return message(
        "From: =?utf-8?q?=C3=89lodie_Marchand?= <elodie@example.fr>\r\n"
        "To: etat-civil@mairie.example.fr\r\nSubject: Livret de famille\r\n"
        "Date: Mon, 02 Mar 2026 10:00:00 +0100\r\nMessage-ID: <orig-2@example.fr>\r\n"
        "X-Mailer: Apple Mail (2.3731)\r\n",
        plain, html_of(plain), total, rnd);
}

// The agent's reply: own text, then the forward quoted with its banner, as Thunderbird quotes.
std::string agent_reply(std::size_t total) {
    Random rnd;
    const std::string begin = "-- Referent " + case_number + " --";
    const std::string end = "-- /Referent " + case_number + " --";
    std::string own = prose(400, rnd);
    std::string quoted = prose(text_budget(total), rnd, "> ");
    std::string plain = own + "\r\nLe 04/03/2026 à 09:30, Élodie Marchand (" + case_number +
                        ") a écrit :\r\n> " + begin + "\r\n> Dossier " + case_number + "\r\n> " +
                        end + "\r\n> \r\n" + quoted;
    std::string html = html_of(own) + "<blockquote type=\"cite\"><div id=\"referent-banner\">" +
                       begin + "<br>Dossier " + case_number + "<br>" + end + "</div>" +
                       html_of(prose(text_budget(total), rnd)) + "</blockquote>";
    return message(
        "From: Marie Lambert <marie.lambert@agents.mairie.example.gov>\r\n"
        "To: \"Elodie Marchand (EC-2026-000042)\" <r-7f3a9c@reponse.mairie.example.gov>\r\n"
        "Subject: Re: [EC-2026-000042] Livret de famille\r\n"
        "Date: Wed, 04 Mar 2026 11:00:00 +0100\r\nMessage-ID: <agent-1@agents.example.gov>\r\n"
        "X-Mailer: Thunderbird ws12.intra\r\n",
        plain, html, total, rnd);
}

const TemplateSet& templates() {
    static const TemplateSet set = [] {
        referent::config::Organisation org;
        org.name = "Mairie de Villeneuve-Exemple";
        org.templates = REFERENT_SOURCE_DIR "/templates";
        org.language = "fr";
        auto r = TemplateSet::load(org);
        if (!r.ok()) std::abort();  // the repository's templates must load
        return std::move(r).value();
    }();
    return set;
}

std::chrono::system_clock::time_point fixed_date() {
    using namespace std::chrono;
    return sys_days{year{2026} / March / 4} + hours{9} + minutes{30};
}

ForwardInput forward_input(const Mailbox& citizen) {
    ForwardInput in;
    in.case_number = case_number;
    in.citizen = citizen;
    in.referent_address = "marie.lambert@agents.mairie.example.gov";
    in.agent_reply_address = "r-7f3a9c@reponse.mairie.example.gov";
    in.earlier_forward_ids = {"fwd-1@gw.mairie.example.gov", "fwd-2@gw.mairie.example.gov"};
    in.gateway_hostname = "gw.mairie.example.gov";
    in.message_id_token = "fwd-3";
    in.date = fixed_date();
    in.templates = &templates();
    in.context = sample_context("fr", Sample::full);
    in.context.absence.reset();  // the referent reads their own mail
    in.context.case_->number = in.case_number;
    in.context.case_->citizen = {citizen.display_name, citizen.address};
    in.context.case_->earlier_messages = 2;
    return in;
}

RewriteInput rewrite_input() {
    RewriteInput in;
    in.case_number = case_number;
    in.citizen = {"Élodie Marchand", "elodie@example.fr"};
    in.citizen_reply_address = "etat-civil+EC-2026-000042@mairie.example.fr";
    in.citizen_message_ids = {"orig-1@example.fr", "orig-2@example.fr"};
    in.identity = {"Marie Lambert", "marie.lambert@agents.mairie.example.gov"};
    in.agent_reply_address = "r-7f3a9c@reponse.mairie.example.gov";
    in.gateway_hostname = "gw.mairie.example.gov";
    in.message_id = "rep-1@gw.mairie.example.gov";
    in.date = fixed_date();
    in.templates = &templates();
    in.context = sample_context("fr", Sample::full);
    in.context.case_->number = in.case_number;
    in.context.agent.name = "Marie Lambert";
    return in;
}

ClassifyConfig gateway() {
    ClassifyConfig c;
    c.loop_token = "gw.mairie.example.gov";
    c.message_id_domain = "gw.mairie.example.gov";
    c.own_addresses = {"etat-civil@mairie.example.fr"};
    c.own_domains = {"gw.mairie.example.gov", "agents.mairie.example.gov"};
    return c;
}

constexpr std::size_t kib = 1024;

std::vector<std::string> load(bool reply, bool big) {
    std::vector<std::size_t> sizes =
        big ? std::vector<std::size_t>{10 * kib * kib}
            : std::vector<std::size_t>{5 * kib, 10 * kib, 20 * kib, 50 * kib};
    std::vector<std::string> out;
    for (std::size_t s : sizes) out.push_back(reply ? agent_reply(s) : citizen_message(s));
    return out;
}

std::int64_t total_bytes(const std::vector<std::string>& msgs) {
    std::size_t n = 0;
    for (const std::string& m : msgs) n += m.size();
    return static_cast<std::int64_t>(n);
}

Message parsed(const std::string& raw) {
    MailResult<Message> m = parse(raw, ParseLimits{});
    if (!m) std::abort();  // the generated messages are valid
    return std::move(m).value();
}

void count(benchmark::State& state, const std::vector<std::string>& msgs) {
    const auto n = static_cast<std::int64_t>(state.iterations());
    state.SetBytesProcessed(n * total_bytes(msgs));
    state.SetItemsProcessed(n * static_cast<std::int64_t>(msgs.size()));
}

void parse_classify(benchmark::State& state, bool big) {
    const std::vector<std::string> msgs = load(false, big);
    EnvelopeInfo envelope;
    envelope.mail_from = "elodie@example.fr";
    const ClassifyConfig config = gateway();
    for (auto _ : state)
        for (const std::string& raw : msgs) {
            Message m = parsed(raw);
            Classification c = classify(m, envelope, config);
            benchmark::DoNotOptimize(c);
        }
    count(state, msgs);
}

void forward_bench(benchmark::State& state, bool big) {
    const std::vector<std::string> msgs = load(false, big);
    const ForwardInput in = forward_input({"Élodie Marchand", "elodie@example.fr"});
    for (auto _ : state)
        for (const std::string& raw : msgs) {
            Message m = parsed(raw);
            MailResult<std::string> out = forward(m, raw, in);
            if (!out) state.SkipWithError(out.refusal().reason.c_str());
            benchmark::DoNotOptimize(out);
        }
    count(state, msgs);
}

void rewrite_bench(benchmark::State& state, bool big) {
    const std::vector<std::string> msgs = load(true, big);
    const RewriteInput in = rewrite_input();
    for (auto _ : state)
        for (const std::string& raw : msgs) {
            Message m = parsed(raw);
            MailResult<RewriteOutput> out = rewrite(m, in);
            if (!out) state.SkipWithError(out.refusal().reason.c_str());
            benchmark::DoNotOptimize(out);
        }
    count(state, msgs);
}

}  // namespace

BENCHMARK_CAPTURE(parse_classify, mix, false)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(forward_bench, mix, false)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(rewrite_bench, mix, false)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(parse_classify, 10MB, true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(forward_bench, 10MB, true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(rewrite_bench, 10MB, true)->Unit(benchmark::kMillisecond);

int main(int argc, char** argv) {
    init();
    (void)templates();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
