// The only user of kainjow mustache (STYLE.md rule 4). The context becomes a Node tree in one
// place (to_node); the tree gives both the Mustache data and the schema of allowed names, so the
// names the checker accepts are exactly the names rendering provides.
#include "mail/template.hpp"

#include <map>
#include <optional>
#include <vector>

#include "mail/banner_marker.hpp"
#include "mail/template_load.hpp"
#include "mail/template_syntax.hpp"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#include <kainjow/mustache.hpp>
#pragma GCC diagnostic pop

namespace referent::mail {

namespace km = kainjow::mustache;

namespace {

struct Node {
    NameKind kind = NameKind::object;
    bool on = true;    // value: non-empty; flag: true; object: present
    std::string text;  // value only
    std::map<std::string, Node> fields;
};

Node value(std::string_view v) {
    // The sentinel marks template lines (template_syntax.hpp): a value must not fake one. NUL
    // cannot travel in a mail body (RFC 5322 §2.3), so it goes too; all else stays verbatim.
    std::string clean;
    clean.reserve(v.size());
    for (const char c : v) {
        if (c != line_sentinel && c != '\0') clean += c;
    }
    return {NameKind::value, !clean.empty(), std::move(clean), {}};
}
Node flag(bool b) {
    return {NameKind::flag, b, {}, {}};
}
Node object(std::map<std::string, Node> fields, bool present = true) {
    return {NameKind::object, present, {}, std::move(fields)};
}

Node card_node(const Card& c, const ServiceInfo& service, bool present = true) {
    // Anonymous: the name, the title and a possibly personal mailbox never enter the data.
    const bool anon = c.anonymous;
    const std::string& service_name = c.service.empty() ? service.name : c.service;
    return object({{"display", value(anon ? service_name : c.name)},
                   {"name", value(anon ? "" : c.name)},
                   {"title", value(anon ? "" : c.title)},
                   {"service", value(service_name)},
                   {"phone", value(c.phone)},
                   {"email", value(anon ? service.email : c.email)},
                   {"hours", value(c.hours)},
                   {"postal_address", value(c.postal_address)},
                   {"anonymous", flag(anon)}},
                  present);
}

Node case_node(const CaseInfo& c, bool present) {
    const auto n = c.earlier_messages;
    return object(
        {{"number", value(c.number)},
         {"subject", value(c.subject)},
         {"opened", value(c.opened)},
         {"due", value(c.due)},
         {"earlier_messages", value(std::to_string(n))},
         {"earlier_none", flag(n == 0)},
         {"earlier_one", flag(n == 1)},
         {"earlier_many", flag(n > 1)},
         {"citizen", object({{"name", value(c.citizen.name)}, {"email", value(c.citizen.email)}})}},
        present);
}

// Absent optional parts still get their fields (with defaults), so the schema is complete
// whatever the context; to_data() turns an absent part into `false`.
Node to_node(const TemplateContext& ctx) {
    const CaseInfo kase = ctx.case_.value_or(CaseInfo{});
    const AbsenceInfo absence = ctx.absence.value_or(AbsenceInfo{});
    const FailureInfo failure = ctx.failure.value_or(FailureInfo{});
    const auto reason = ctx.handover.value_or(HandoverInfo{}).reason;
    const RefusalInfo refusal = ctx.refusal.value_or(RefusalInfo{});
    return object({
        {"organisation", object({{"name", value(ctx.organisation.name)},
                                 {"postal_address", value(ctx.organisation.postal_address)}})},
        {"service", object({{"name", value(ctx.service.name)},
                            {"email", value(ctx.service.email)},
                            {"phone", value(ctx.service.phone)}})},
        {"agent", card_node(ctx.agent, ctx.service)},
        {"case", case_node(kase, ctx.case_.has_value())},
        {"marker", object({{"begin", value(banner_begin(kase.number))},
                           {"end", value(banner_end(kase.number))}},
                          ctx.case_.has_value())},
        {"absence", object({{"until", value(absence.until)},
                            {"delegate", card_node(absence.delegate.value_or(Card{}), ctx.service,
                                                   absence.delegate.has_value())}},
                           ctx.absence.has_value())},
        {"failure", object({{"recipient", value(failure.recipient)},
                            {"status", value(failure.status)},
                            {"diagnostic", value(failure.diagnostic)}},
                           ctx.failure.has_value())},
        {"handover", object({{"reassigned", flag(reason == HandoverReason::reassigned)},
                             {"absence", flag(reason == HandoverReason::absence)},
                             {"departure", flag(reason == HandoverReason::departure)}},
                            ctx.handover.has_value())},
        {"refusal",
         object({{"reason", value(refusal.reason)}, {"referent", value(refusal.referent)}},
                ctx.refusal.has_value())},
    });
}

// An empty value or an absent part is `false`: sections skip it, inverted sections run.
km::data to_data(const Node& n) {
    if (!n.on) return km::data(false);
    if (n.kind == NameKind::flag) return km::data(true);
    if (n.kind == NameKind::value) return km::data(n.text);
    km::data d{km::data::type::object};
    for (const auto& [key, child] : n.fields) d.set(key, to_data(child));
    return d;
}

void add_schema(const Node& n, const std::string& path, NameSchema& out) {
    if (!path.empty()) out.emplace(path, n.kind);
    for (const auto& [key, child] : n.fields) {
        add_schema(child, path.empty() ? key : path + "." + key, out);
    }
}

// A header-ready line: every control character (CR, LF, TAB, NUL…) becomes a space, runs of
// spaces collapse, the ends are trimmed.
std::string one_line(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
        if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
        out += c;
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

// One parsed template, rendered many times. kainjow's render() is not const, but it writes into
// the template only for partials and lambdas: the checker refuses partials and delimiter changes
// (template_syntax.hpp) and to_data() makes strings, booleans and objects only, so rendering
// writes nothing shared, and one parsed template renders in several threads at once.
class Compiled {
public:
    Compiled(const std::string& prepared, bool html) : tmpl_(prepared) {
        if (!html) tmpl_.set_custom_escape([](const std::string& s) { return s; });
        if (!tmpl_.is_valid()) {
            template_bug(
                std::string("a checked template failed to parse: ").append(tmpl_.error_message()));
        }
    }

    // The text without the line sentinels (template_syntax.hpp).
    std::string render(const km::data& data) const {
        std::string out;
        tmpl_.render(data, [&out](const std::string& piece) {
            for (const char c : piece)
                if (c != line_sentinel) out += c;
        });
        if (!tmpl_.is_valid()) {
            template_bug(
                std::string("a loaded template failed to render: ").append(tmpl_.error_message()));
        }
        return out;
    }

private:
    mutable km::mustache tmpl_;
};

}  // namespace

struct TemplateSet::Parsed {
    struct Kinds {
        Compiled text;
        Compiled html;
        Compiled subject;
    };
    std::vector<Kinds> templates;  // by TemplateName
    std::optional<Compiled> from_format;

    const Kinds& operator[](TemplateName name) const {
        return templates[static_cast<std::size_t>(name)];
    }
};

NameSchema template_schema() {
    NameSchema schema;
    add_schema(to_node(TemplateContext{}), "", schema);
    return schema;
}

std::string mustache_parse_error(const std::string& prepared) {
    const km::mustache tmpl{prepared};
    return tmpl.is_valid() ? std::string() : tmpl.error_message();
}

std::string_view template_stem(TemplateName name) {
    return template_spec(name).stem;
}

bool has_subject(TemplateName name) {
    return template_spec(name).subject;
}

util::Result<TemplateSet> TemplateSet::load(const config::Organisation& organisation) {
    auto loaded = load_template_files(organisation);
    if (!loaded.ok()) return loaded.error();
    TemplateSet set;
    set.language_ = organisation.language;
    auto parsed = std::make_shared<Parsed>();
    parsed->templates.reserve(loaded->files.size());
    for (const auto& f : loaded->files)
        parsed->templates.push_back(
            {Compiled(f.text, false), Compiled(f.html, true), Compiled(f.subject, false)});
    parsed->from_format.emplace(loaded->from_format, false);
    set.parsed_ = std::move(parsed);
    if (auto smoke = smoke_test(set, loaded->directory); !smoke.ok()) return smoke.error();
    return set;
}

std::string TemplateSet::text(TemplateName name, const TemplateContext& context) const {
    require_parts(name, context);
    return (*parsed_)[name].text.render(to_data(to_node(context)));
}

std::string TemplateSet::html(TemplateName name, const TemplateContext& context) const {
    require_parts(name, context);
    return (*parsed_)[name].html.render(to_data(to_node(context)));
}

std::string TemplateSet::subject(TemplateName name, const TemplateContext& context) const {
    if (!has_subject(name)) template_bug("subject() of a template that has none");
    require_parts(name, context);
    return one_line((*parsed_)[name].subject.render(to_data(to_node(context))));
}

std::string TemplateSet::display_name(const TemplateContext& context) const {
    if (context.agent.anonymous) return one_line(context.service.name);
    return one_line(parsed_->from_format->render(to_data(to_node(context))));
}

}  // namespace referent::mail
