// mail/template_syntax.hpp — the Mustache subset our templates may use, checked before kainjow
// ever sees a template, and the rewriting that makes kainjow render it as the spec says.
//
// Contract:
//  - check_template() scans a template's tags statically and reports, with 1-based line and
//    column: unclosed tags, empty tags, unbalanced or mismatched sections, set-delimiter tags
//    and partials (not supported), a stray "}}" in text (a comment that quoted a tag and so
//    closed early), names not in the schema (kainjow renders an unknown name as "" without a
//    word, so this is the only place a typo is caught), a value tag on a group or a flag
//    (renders nothing), `{{.}}` anywhere but in a section on a value, and, where unescaped
//    output is not allowed (HTML), `{{{x}}}` and `{{&x}}`. Every branch of every section is
//    checked, whatever a sample context would have rendered. Names resolve as kainjow resolves
//    them: inside `{{#agent}}`, `name` means `agent.name` if that exists, else the root's.
//  - check_encoding() refuses text that is not UTF-8 or holds control characters other than
//    TAB and LF (run it after normalise_newlines()).
//  - prepare_for_kainjow() turns a checked template into the text handed to kainjow: standalone
//    section and comment lines removed as the Mustache spec says, and line_sentinel at the start
//    of every other line. Why: kainjow 4.1 drops a whitespace-only output line whenever a
//    section was rendered on it, and keeps the blank line left by a skipped section, so
//    paragraph breaks would depend on the data. With a sentinel no line is whitespace-only,
//    kainjow's heuristic never fires, and strip_sentinels() removes them after rendering.
// No kainjow here. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace referent::mail {

enum class NameKind { object, value, flag };

// Every name a template may use, as dotted paths: "agent" → object, "agent.name" → value,
// "agent.anonymous" → flag.
using NameSchema = std::map<std::string, NameKind, std::less<>>;

struct TemplateProblem {
    std::size_t line = 0;    // 1-based
    std::size_t column = 0;  // 1-based, in characters
    std::string message;
};

// Every problem found; structural problems stop the scan (what follows cannot be trusted).
std::vector<TemplateProblem> check_template(std::string_view source, const NameSchema& names,
                                            bool allow_unescaped);

std::vector<TemplateProblem> check_encoding(std::string_view text);

// CRLF and lone CR become LF: templates edited on Windows render like the others.
std::string normalise_newlines(std::string_view text);

inline constexpr char line_sentinel = '\x1F';  // refused in templates, removed from values

std::string prepare_for_kainjow(std::string_view checked_source);
std::string strip_sentinels(std::string_view rendered);

}  // namespace referent::mail
