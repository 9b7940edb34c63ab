#include "mail/template_load.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "mail/banner_marker.hpp"
#include "util/log.hpp"

namespace referent::mail {

namespace fs = std::filesystem;

namespace {

constexpr std::array<TemplateSpec, all_template_names.size()> specs{{
    {TemplateName::signature, "signature", false, part_case, 0},
    {TemplateName::forward_banner, "forward_banner", false, part_case | part_marker | part_absence,
     part_case},
    {TemplateName::acknowledgement, "acknowledgement", true, part_case, part_case},
    {TemplateName::handover, "handover", true, part_case | part_handover,
     part_case | part_handover},
    {TemplateName::absence, "absence", true, part_case | part_absence, part_case | part_absence},
    {TemplateName::delivery_failure, "delivery_failure", true, part_case | part_failure,
     part_case | part_failure},
    {TemplateName::reminder, "reminder", true, part_case, part_case},
    {TemplateName::escalation, "escalation", true, part_case, part_case},
    {TemplateName::reply_refused, "reply_refused", true, part_case | part_refusal,
     part_case | part_refusal},
}};

// Top-level names of the context and the part that brings each (0: always there).
constexpr std::array<std::pair<std::string_view, unsigned>, 9> roots{{
    {"organisation", 0},
    {"service", 0},
    {"agent", 0},
    {"case", part_case},
    {"marker", part_marker},
    {"absence", part_absence},
    {"failure", part_failure},
    {"handover", part_handover},
    {"refusal", part_refusal},
}};

NameSchema schema_for(unsigned allowed) {
    NameSchema out;
    for (const auto& [path, kind] : template_schema()) {
        const auto root = std::string_view(path).substr(0, path.find('.'));
        for (const auto& [name, part] : roots) {
            if (name == root && (part == 0 || (allowed & part) != 0)) out.emplace(path, kind);
        }
    }
    return out;
}

class Loader {
public:
    // Returns the prepared source, or "" after reporting why it could not be had.
    std::string file(const fs::path& path, const NameSchema& names, bool html) {
        std::string source;
        if (!read(path, source)) return {};
        return checked(path.string(), normalise_newlines(source), names, !html);
    }

    std::string checked(const std::string& label, const std::string& source,
                        const NameSchema& names, bool allow_unescaped) {
        if (report(label, check_encoding(source))) return {};
        if (report(label, check_template(source, names, allow_unescaped))) return {};
        std::string prepared = prepare_for_kainjow(source);
        // Our checker accepts a subset of what kainjow parses; this is a second opinion.
        if (const auto err = mustache_parse_error(prepared); !err.empty()) {
            add(label + ": Mustache syntax: " + err);
            return {};
        }
        return prepared;
    }

    void add(std::string line) { problems_.push_back(std::move(line)); }
    bool failed() const { return !problems_.empty(); }

    util::Error error() const {
        std::string all;
        for (const auto& p : problems_) all.append(all.empty() ? "" : "\n").append(p);
        return util::Error::permanent(all);
    }

private:
    bool read(const fs::path& path, std::string& out) {
        std::error_code ec;
        const auto status = fs::status(path, ec);
        if (!fs::exists(status)) return add(path.string() + ": no such file"), false;
        if (!fs::is_regular_file(status)) return add(path.string() + ": not a regular file"), false;
        std::ifstream in(path, std::ios::binary);
        if (!in) return add(path.string() + ": cannot read: " + std::strerror(errno)), false;
        out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        if (in.bad()) return add(path.string() + ": cannot read: " + std::strerror(errno)), false;
        if (out.size() > max_template_size) {
            return add(path.string() + ": larger than " + std::to_string(max_template_size) +
                       " octets"),
                   false;
        }
        return true;
    }

    bool report(const std::string& label, const std::vector<TemplateProblem>& found) {
        for (const auto& p : found) {
            add(label + ":" + std::to_string(p.line) + ":" + std::to_string(p.column) + ": " +
                p.message);
        }
        return !found.empty();
    }

    std::vector<std::string> problems_;
};

bool contains(const std::string& haystack, std::string_view needle) {
    return haystack.find(needle) != std::string::npos;
}

void check_banner(const std::string& text, const std::string& html, const std::string& number,
                  const std::string& directory, std::vector<std::string>& problems) {
    const auto stem = std::string(directory).append("/forward_banner.");
    for (const auto& marker : {banner_begin(number), banner_end(number)}) {
        const auto missing = std::string(": lacks the marker line \"")
                                 .append(marker)
                                 .append("\" (write {{marker.begin}} and {{marker.end}})");
        if (!contains(text, marker)) problems.push_back(stem + "txt.mustache" + missing);
        if (!contains(html, marker)) problems.push_back(stem + "html.mustache" + missing);
    }
    const auto id = std::string("id=\"").append(banner_html_id).append("\"");
    if (!contains(html, id)) {
        problems.push_back(stem + "html.mustache: the banner element lacks " + id);
    }
}

}  // namespace

const TemplateSpec& template_spec(TemplateName name) {
    const auto& spec = specs[static_cast<std::size_t>(name)];
    if (spec.name != name) template_bug("template table out of order");
    return spec;
}

[[noreturn]] void template_bug(std::string_view what) {
    std::string line("bug: ");
    line.append(what);
    util::log_error("template", line);
    std::abort();
}

void require_parts(TemplateName name, const TemplateContext& ctx) {
    const unsigned need = template_spec(name).required;
    const bool ok = ((need & part_case) == 0 || ctx.case_) &&
                    ((need & part_absence) == 0 || ctx.absence) &&
                    ((need & part_failure) == 0 || ctx.failure) &&
                    ((need & part_handover) == 0 || ctx.handover) &&
                    ((need & part_refusal) == 0 || ctx.refusal);
    if (!ok) {
        template_bug(std::string(template_stem(name)).append(" rendered without a part it needs"));
    }
}

util::Result<LoadedTemplates> load_template_files(const config::Organisation& organisation) {
    LoadedTemplates out;
    const fs::path dir = fs::path(organisation.templates) / organisation.language;
    out.directory = dir.string();
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        return util::Error::permanent(out.directory + ": no such template directory (" +
                                      "organisation.language \"" + organisation.language + "\")");
    }
    Loader loader;
    for (const auto& spec : specs) {
        const auto names = schema_for(spec.allowed);
        auto& files = out.files[static_cast<std::size_t>(spec.name)];
        const auto path = [&](std::string_view kind) {
            return dir / std::string(spec.stem).append(".").append(kind).append(".mustache");
        };
        files.text = loader.file(path("txt"), names, false);
        files.html = loader.file(path("html"), names, true);
        if (spec.subject) files.subject = loader.file(path("subject"), names, false);
    }
    out.from_format =
        loader.checked("organisation.from_format", organisation.from_format, schema_for(0), true);
    if (loader.failed()) return loader.error();
    return out;
}

util::Status smoke_test(const TemplateSet& set, const std::string& directory) {
    std::vector<std::string> problems;
    for (const auto sample : {Sample::full, Sample::anonymous}) {
        const auto ctx = sample_context(set.language(), sample);
        for (const auto& spec : specs) {
            const auto text = set.text(spec.name, ctx);
            const auto html = set.html(spec.name, ctx);
            if (spec.name == TemplateName::forward_banner && sample == Sample::full)
                check_banner(text, html, ctx.case_->number, directory, problems);
            if (spec.subject && set.subject(spec.name, ctx).empty()) {
                problems.push_back(directory + "/" + std::string(spec.stem) +
                                   ".subject.mustache: renders an empty subject");
            }
        }
        (void)set.display_name(ctx);
    }
    if (problems.empty()) return {};
    std::string all;
    for (const auto& p : problems) all.append(all.empty() ? "" : "\n").append(p);
    return util::Error::permanent(all);
}

}  // namespace referent::mail
