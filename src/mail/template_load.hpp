// mail/template_load.hpp — internal to TemplateSet: which templates exist, what each may use,
// and how their files are read and checked. Not for use outside src/mail/template*.cpp.
//
// Contract: load_template_files() reads every file TemplateSet needs and reports every problem
// it finds (one line each, see template.hpp), or returns the prepared sources. smoke_test()
// renders a set with both sample contexts and checks what only a rendering shows (the banner
// markers, a non-empty subject). require_parts() aborts when a caller renders a template
// without a context part it needs: that is a bug, not a runtime condition. Thread-safe.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "mail/template.hpp"
#include "mail/template_context.hpp"
#include "mail/template_syntax.hpp"
#include "util/result.hpp"

namespace referent::mail {

// Optional parts of TemplateContext, as bits.
enum Part : unsigned {
    part_case = 1u << 0,
    part_marker = 1u << 1,
    part_absence = 1u << 2,
    part_failure = 1u << 3,
    part_handover = 1u << 4,
    part_refusal = 1u << 5,
};

struct TemplateSpec {
    TemplateName name;
    std::string_view stem;
    bool subject;       // has a <stem>.subject.mustache
    unsigned allowed;   // parts it may name, beyond organisation, service and agent
    unsigned required;  // parts the context must hold to render it
};

const TemplateSpec& template_spec(TemplateName name);

// Larger template files are refused: a template is a page of text, not a data file.
inline constexpr std::size_t max_template_size = 256 * 1024;

struct TemplateFiles {
    std::string text;
    std::string html;
    std::string subject;
};

struct LoadedTemplates {
    std::string directory;  // organisation.templates + "/" + language
    std::array<TemplateFiles, all_template_names.size()> files;  // indexed by TemplateName
    std::string from_format;
};

util::Result<LoadedTemplates> load_template_files(const config::Organisation& organisation);

util::Status smoke_test(const TemplateSet& set, const std::string& directory);

[[noreturn]] void template_bug(std::string_view what);

void require_parts(TemplateName name, const TemplateContext& context);

// Implemented in template.cpp, next to kainjow and the context conversion:
NameSchema template_schema();                                   // every name any template could use
std::string mustache_parse_error(const std::string& prepared);  // "" when kainjow accepts it

}  // namespace referent::mail
